// Starts GraphiQL against this server's /graphql. The admin login session
// (cookie) is used with its CSRF token; an API key can be given instead in
// the headers editor: {"Authorization": "Bearer <key>"}.
(async function () {
  const headers = {};
  try {
    const r = await fetch('/api/v1/auth/me', { credentials: 'same-origin' });
    if (r.ok) {
      const me = await r.json();
      if (me.csrf_token) headers['X-CSRF-Token'] = me.csrf_token;
    }
  } catch (e) {
    // Not logged in: an API key in the headers editor still works.
  }
  const fetcher = GraphiQL.createFetcher({ url: '/graphql', headers });
  const defaultQuery = `# Tessera dashboard API. Not logged in? Log in at /admin, or put
# {"Authorization": "Bearer <api key>"} in the headers editor below.
query Dashboard {
  me { clientId role }
  dashboard { totalSessions passRate averageScore medianSecondsToComplete
    failingChecks { checkName count } }
  idvSessions(first: 10) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id status verified score createdAt
      identity { id firstName lastName }
      checks { checkName status score } }
  }
}
`;
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }));
})();
