using System.Globalization;
using System.Threading.RateLimiting;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CCHC.Stats.Api.Ingestion;

public static class IngestionModule
{
    /// <summary>The CORS policy of the public endpoints: any origin (the host allow-list guards ingestion).</summary>
    public const string PublicCors = "public";

    private const string PerClientLimit = "views-per-client";

    public static IServiceCollection AddIngestion(this IServiceCollection services)
    {
        services.AddSingleton<VisitorIdentity>();
        services.AddHostedService<SaltShredder>();
        services.AddSingleton<ViewBatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ViewBatcher>());
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(PerClientLimit, http =>
            {
                var perMinute = http.RequestServices.GetRequiredService<IOptions<StatsOptions>>().Value.ViewsPerClientPerMinute;
                var client = http.Connection.RemoteIpAddress?.ToString() ?? "";
                return perMinute <= 0
                    ? RateLimitPartition.GetNoLimiter(client)
                    : RateLimitPartition.GetSlidingWindowLimiter(client, _ => new SlidingWindowRateLimiterOptions
                    {
                        PermitLimit = perMinute,
                        Window = TimeSpan.FromMinutes(1),
                        SegmentsPerWindow = 6,
                        QueueLimit = 0,
                    });
            });
            limiter.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(10);
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                http.RequestServices.GetRequiredService<StatsMetrics>()
                    .Refused(http.GetRouteValue("siteId")?.ToString() ?? "", RefusalReason.RateLimited);
                await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many views.",
                    detail: "This client sent more views per minute than a person can; they are not counted.").ExecuteAsync(http);
            };
        });
        return services;
    }

    public static IEndpointRouteBuilder MapIngestion(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/sites/{siteId}/views", RecordPageView.Handle)
            .RequireSite(viewRefused: true)
            .RequireCors(PublicCors)
            .RequireRateLimiting(PerClientLimit)
            .WithTags("Ingestion").WithSummary("Record one page view (public; what the widget sends).")
            .WithDescription("202 once the view is durable. The url's host must be one of the site's allowed hosts (403). Known bots get 202 and are not counted. Body at most 8 KiB.")
            .Accepts<PageViewRequest>("application/json", "text/plain")
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapPost("/api/v1/sites/{siteId}/views:batch", ImportViews.Handle)
            .RequireKey(KeyRole.Ingest)
            .RequireSite()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(ImportViews.MaxBodyBytes))
            .WithTags("Ingestion").WithSummary("Import views recorded elsewhere (server-side senders, log imports).")
            .WithDescription("A JSON array or NDJSON of at most 10,000 items. Each item is checked alone: a malformed or refused item is rejected with its index and reason, the rest are recorded.")
            .Accepts<BatchViewItem[]>("application/json", "application/x-ndjson")
            .Produces<BatchResult>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AcceptsIdempotencyKey();
        return app;
    }
}
