// SMART App Launch 2: EHR launch (iss + launch) or standalone launch (iss alone). fhirclient reads both from the URL,
// discovers the server's SMART configuration and redirects to its authorize endpoint with PKCE (S256).
(async () => {
  const message = document.getElementById('message');
  try {
    const config = await (await fetch('/app/config.json')).json();
    await FHIR.oauth2.authorize({
      clientId: config.clientId,
      scope: config.scope,
      redirectUri: '/app/',
      pkceMode: 'required',
    });
  } catch (err) {
    message.textContent = `The app could not be launched: ${err instanceof Error ? err.message : String(err)}`;
    message.className = 'error';
  }
})();
