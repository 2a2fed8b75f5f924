// A modal confirmation in the page (a <dialog> opened with showModal): focus moves into
// it, starting on the safe choice, and stays there; Escape or the safe choice closes it
// and focus goes back to the control that opened it. (window.confirm would be neither
// styled nor testable in a headless browser.)

export class ConfirmDialog {
  /**
   * @param {HTMLDialogElement} dialog
   * @param {{confirm: HTMLElement, cancel: HTMLElement, onConfirm: () => void,
   *          returnFocus: () => HTMLElement | null}} parts returnFocus: where focus goes
   *   when the dialog is called off (null: leave it)
   */
  constructor(dialog, { confirm, cancel, onConfirm, returnFocus }) {
    this.dialog = dialog;
    this.cancel = cancel;
    this.confirmed = false;
    confirm.addEventListener("click", () => {
      this.confirmed = true;
      this.close();
      onConfirm();
    });
    cancel.addEventListener("click", () => this.close());
    dialog.addEventListener("close", () => {
      const target = this.confirmed ? null : returnFocus();
      if (target) target.focus();
    });
  }

  open() {
    if (this.dialog.open) return;
    this.confirmed = false;
    this.dialog.showModal();
    this.cancel.focus(); // the safe choice is the default one
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}
