/**
 * The sign-in form and the signed-in user in the header (served as
 * signin.js). The form shows when a request was refused for want of
 * credentials (auth.js "needed"), never before: with auth off the page
 * asks for nothing.
 */
export const source = String.raw`
import { on, signIn, signOut, SignInError, user } from "./auth.js";

const $ = (id) => document.getElementById(id);

export function setUpSignIn() {
  on("needed", (why) => showForm(why));
  on("change", showSession);
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void submit();
  });
  $("signout").addEventListener("click", () => signOut());
}

function showForm(why) {
  const panel = $("signin-panel");
  if (why) say(why, true);
  if (!panel.hidden) return;
  panel.hidden = false;
  $("signin-password").value = "";
  if (!document.activeElement || document.activeElement === document.body) $("signin-user").focus();
}

function showSession() {
  const name = user();
  $("session").hidden = !name;
  $("session-user").textContent = name;
  if (name) {
    $("signin-panel").hidden = true;
    say("");
  }
}

async function submit() {
  const button = $("signin-button");
  button.disabled = true;
  say("signing in…");
  try {
    await signIn($("signin-user").value, $("signin-password").value);
    $("signin-password").value = "";
  } catch (err) {
    say(err instanceof SignInError ? err.message : "cannot sign in: " + err.message, true);
    $("signin-password").select();
  } finally {
    button.disabled = false;
  }
}

function say(text, isError) {
  const p = $("signin-message");
  p.textContent = text;
  p.classList.toggle("error", !!isError);
}
`;
