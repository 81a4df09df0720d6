using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Traffic;

public static class TrafficModule
{
    public static IServiceCollection AddTraffic(this IServiceCollection services) => services.AddSingleton<SiteHours>();

    public static IEndpointRouteBuilder MapTraffic(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites/{siteId}/stats/series", GetSeries.Handle).RequireSite().RequireCors(IngestionModule.PublicCors)
            .WithTags("Traffic").WithSummary("A site's figures per hour, day or month: public when the site publishes its statistics, else the admin or auditor key.")
            .WithDescription("from, to (required, ISO-8601 with offset): every interval of [from, to) in the site's time zone, zeros included. interval: hour (at most 744 points), day (3,700) or month (1,200); 400 beyond. Visits count in the interval of their first view; visitors (distinct within the interval) for hour and day only. Baselines apart.")
            .Produces<SeriesResponse>().Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGet("/api/v1/sites/{siteId}/stats/sources", GetSources.Handle).RequireSite().RequireCors(IngestionModule.PublicCors)
            .WithTags("Traffic").WithSummary("A period's visits by where they came from: public when the site publishes its statistics, else the admin or auditor key.")
            .WithDescription("period: day, week (the default), month, year or total; asOf (optional): the periods containing that moment, as they stood then. A visit counts for the referrer of its first view: a named engine or network (google, coccoc, bing, facebook, zalo, youtube, tiktok, baomoi, …), another referrer's host, or direct (none, or the page's own host). The sources add up to the period's visits less baselines.")
            .Produces<SourcesResponse>().Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/sites/{siteId}/stats", StatsPage.Handle).RequireSite()
            .WithTags("Traffic").WithSummary("A site's statistics page (HTML, Vietnamese; ?lang=en): public when the site publishes its statistics, else the admin or auditor key.")
            .WithDescription("Views per hour today, per day of this month, per month of this year (inline SVG), the month's most-read pages and sources, the groups the site belongs to. No script. A 403 page when the statistics are not published.")
            .Produces(StatusCodes.Status200OK, contentType: "text/html").Produces(StatusCodes.Status403Forbidden, contentType: "text/html")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
