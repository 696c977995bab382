// Starts Swagger UI on the viewer's API docs page. A file of its own, not an inline
// script, so the page runs under the viewer's Content-Security-Policy (script-src 'self').
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // the default posts the schema to a public validator
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" is this page's own request: say so, as the UI does, so the viewer's
    // write guard lets its POSTs through (a page of another origin cannot send it).
    requestInterceptor: (request) => {
      request.headers["X-Myagent-Request"] = "1";
      return request;
    },
  });
});
