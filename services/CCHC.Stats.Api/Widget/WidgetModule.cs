using System.IO.Compression;
using System.Reflection;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using System.Security.Cryptography;
using CCHC.Stats.Api.Ingestion;

namespace CCHC.Stats.Api.Widget;

/// <summary><c>GET /widget.js</c>, the counter badge and the demo page.</summary>
public static class WidgetModule
{
    public static IEndpointRouteBuilder MapWidget(this IEndpointRouteBuilder app)
    {
        var script = new WidgetScript(Resource("widget.js"));
        app.MapGet("/widget.js", script.Serve).RequireCors(IngestionModule.PublicCors)
            .WithTags("Widget").WithSummary("The embeddable counter: <script async src=\".../widget.js\" data-site=\"…\"></script>.")
            .Produces(StatusCodes.Status200OK, contentType: "text/javascript").Produces(StatusCodes.Status304NotModified);

        app.MapGet("/api/v1/sites/{siteId}/counter.svg", CounterBadge.Handle).RequireCors(IngestionModule.PublicCors)
            .WithTags("Widget").WithSummary("One figure as an SVG badge, for pages without script (period, metric, lang; url= for one page's views).")
            .Produces(StatusCodes.Status200OK, contentType: "image/svg+xml")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        var demo = Resource("demo.html");
        app.MapGet("/demo", () => Results.Bytes(demo, "text/html; charset=utf-8"))
            .WithTags("Widget").WithSummary("A demo portal page with the widget (site 'demo' of a local run).")
            .Produces(StatusCodes.Status200OK, contentType: "text/html");
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

/// <summary>
/// The widget script, compressed at its best levels (it is read by every reader of every portal) and served with an
/// ETag. A reader's browser keeps it for an hour and then asks again with <c>If-None-Match</c> (a 304 of a few hundred bytes), using the copy it has meanwhile for up to a day: a fix reaches
/// every reader within the hour after their next visit.
/// </summary>
public sealed class WidgetScript
{
    public const string CacheControl = "public, max-age=3600, stale-while-revalidate=86400";

    private readonly Precompressed _body;
    private readonly string _etag;

    public WidgetScript(byte[] plain)
    {
        _body = new Precompressed(plain, CompressionLevel.SmallestSize);
        _etag = $"W/\"{Convert.ToHexStringLower(SHA256.HashData(plain).AsSpan(0, 8))}\"";
    }

    public IResult Serve(HttpContext http)
    {
        var headers = http.Response.Headers;
        headers.CacheControl = CacheControl;
        headers.ETag = _etag;
        headers.Vary = "Accept-Encoding";
        var ifNoneMatch = http.Request.Headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0 && (ifNoneMatch == "*" || ifNoneMatch.Split(',').Any(t => t.Trim() == _etag || t.Trim() == _etag[2..])))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(_body.Negotiate(http), "text/javascript; charset=utf-8");
    }
}
