// Starts Swagger UI on /docs from a file, not an inline script, so the page runs under a
// Content-Security-Policy without 'unsafe-inline' scripts (see web/api_docs.py).
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset].filter(Boolean),
  layout: "BaseLayout",
});
