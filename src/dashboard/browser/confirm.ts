/** The in-page confirmation every change goes through (served as confirm.js). */
export const source = String.raw`
const dialog = document.getElementById("confirm-dialog");
const message = document.getElementById("confirm-message");

/**
 * Asks before a change: resolves true only when the user presses confirm
 * (Escape or cancel: false). A modal dialog of the page rather than
 * window.confirm, so that it shows what will change in full and can be
 * styled and driven like the rest of the page.
 */
export function confirmChange(text) {
  message.textContent = text;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
    document.getElementById("confirm-no").focus();
  });
}
`;
