using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Pages;

public static class PagesModule
{
    public static IServiceCollection AddPages(this IServiceCollection services)
    {
        services.AddSingleton<PageCounts>();
        services.AddSingleton<PageBaselines>();
        return services;
    }

    public static IEndpointRouteBuilder MapPages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites/{siteId}/pages/views", GetPageViews.Handle).RequireSite().RequireCors(IngestionModule.PublicCors)
            .WithTags("Pages").WithSummary("The views of one page: what an article shows beside \"Lượt xem:\" (public).")
            .WithDescription("url (required): the article's absolute URL; its page is the URL without scheme, host, fragment and tracking parameters, the query sorted (see README). A page never viewed answers zeros. asOf (optional, ISO-8601 with offset): the figures as they stood at that moment. ETag / If-None-Match (304), Cache-Control: public, max-age=5.")
            .Produces<PageViewsResponse>().Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/v1/sites/{siteId}/pages/top", GetTopPages.Handle).RequireSite().RequireCors(IngestionModule.PublicCors)
            .WithTags("Pages").WithSummary("The most-read list (\"Tin đọc nhiều\"): public when the site publishes its statistics, else the admin or auditor key.")
            .WithDescription("period: day | week (default) | month | year | total. limit: 1–100 (default 10). asOf (optional): the list as it stood at that moment. By pageViews descending, then page. Anonymous on a site that does not publish: 403.")
            .Produces<TopPagesResponse>().Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapPost("/api/v1/sites/{siteId}/pages:baseline", RecordPageBaselines.Handle).RequireKey(KeyRole.Admin).RequireSite()
            .WithTags("Pages").WithSummary("Carry a legacy CMS's per-article totals over (NukeViet's hitstotal), from a moment on.")
            .WithDescription("At most 10,000 items, each checked alone (rejected with its index and reason, the rest recorded). Each total (0–10^12) is added to its page's all-time figure from asOf on, never to the site's figures; recorded as one pageBaseline event per item.")
            .Accepts<PageBaselineRequest>("application/json").Produces<PageBaselineResult>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AcceptsIdempotencyKey();
        return app;
    }
}
