// A microphone level meter: a visible bar (decorative, aria-hidden) and a <meter> that
// assistive technology reads. One module for the start page's microphone check and the
// interview room, so both show the same thing for the same sound.

/** Speech RMS sits around 0.02–0.2; stretch it so normal speech fills most of the bar. */
export function shownLevel(rms) {
  return Math.min(1, Math.sqrt(Math.max(0, rms)) * 2);
}

export class LevelMeter {
  /**
   * @param {HTMLElement} fill the bar's inner element (its width is the level)
   * @param {HTMLMeterElement} meter the accessible value
   */
  constructor(fill, meter) {
    this.fill = fill;
    this.meter = meter;
    this.value = 0;
  }

  /** Show one frame's RMS level (0..1). */
  set(rms) {
    const shown = shownLevel(rms);
    this.value = shown;
    this.meter.value = shown;
    this.meter.textContent = shown.toFixed(2);
    // Set through the CSSOM, which the pages' CSP allows (it forbids style attributes).
    this.fill.style.width = `${Math.round(shown * 100)}%`;
  }

  reset() {
    this.set(0);
  }
}
