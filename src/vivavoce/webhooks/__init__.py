"""Webhooks by the Standard Webhooks convention: events from the database outbox, fanned
out to endpoints, signed, delivered with backoff by whichever instance claims them."""
