using System.Reflection;
using System.Security.Cryptography;
using CCHC.Stats.Api.Ingestion;

namespace CCHC.Stats.Api.Widget;

/// <summary><c>GET /widget.js</c>, the counter badge and the demo page.</summary>
public static class WidgetModule
{
    public static IEndpointRouteBuilder MapWidget(this IEndpointRouteBuilder app)
    {
        var script = Resource("widget.js");
        var scriptTag = $"\"{Convert.ToHexStringLower(SHA256.HashData(script).AsSpan(0, 8))}\"";
        app.MapGet("/widget.js", (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            http.Response.Headers.ETag = scriptTag;
            return http.Request.Headers.IfNoneMatch == scriptTag
                ? Results.StatusCode(StatusCodes.Status304NotModified)
                : Results.Bytes(script, "text/javascript; charset=utf-8");
        }).RequireCors(IngestionModule.PublicCors);

        app.MapGet("/api/v1/sites/{siteId}/counter.svg", CounterBadge.Handle).RequireCors(IngestionModule.PublicCors);

        var demo = Resource("demo.html");
        app.MapGet("/demo", () => Results.Bytes(demo, "text/html; charset=utf-8"));
        return app;
    }

    private static byte[] Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"CCHC.Stats.Api.Widget.{name}")
            ?? throw new InvalidOperationException($"Resource {name} is missing.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
