"""Data files shipped with vivavoce (the price table)."""
