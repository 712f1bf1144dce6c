// Exchanges the one-time code in the URL fragment (never sent to the server by the
// browser, so never in an access log) or a pasted API token for an HttpOnly session
// cookie, then opens the dashboard. The fragment is removed from history at once.
"use strict";

async function signIn(body) {
  const response = await fetch("/api/v1/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  return response;
}

function showForm(message) {
  document.getElementById("login-status").textContent = message;
  document.getElementById("token-form").classList.remove("hidden");
}

async function main() {
  const code = window.location.hash.slice(1);
  history.replaceState(null, "", "/login");
  if (code) {
    const response = await signIn({ code: code });
    if (response.ok) {
      window.location.replace("/");
      return;
    }
    showForm(response.status === 429
      ? "Too many failed attempts; wait a minute."
      : "This login link was already used or has expired.");
  } else {
    const check = await fetch("/api/v1/session", { credentials: "same-origin" });
    if (check.ok) {
      window.location.replace("/");
      return;
    }
    showForm("Not signed in.");
  }
  document.getElementById("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("token-input");
    const response = await signIn({ token: input.value.trim() });
    input.value = "";
    if (response.ok) {
      window.location.replace("/");
    } else {
      document.getElementById("login-status").textContent = response.status === 429
        ? "Too many failed attempts; wait a minute." : "Wrong token.";
    }
  });
}

main();
