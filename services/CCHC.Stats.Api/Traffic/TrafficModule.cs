using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Traffic;

public static class TrafficModule
{
    public static IEndpointRouteBuilder MapTraffic(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites/{siteId}/stats/series", GetSeries.Handle).RequireSite().RequireCors(IngestionModule.PublicCors)
            .WithTags("Traffic").WithSummary("A site's figures per hour, day or month: public when the site publishes its statistics, else the admin or auditor key.")
            .WithDescription("from, to (required, ISO-8601 with offset): every interval of [from, to) in the site's time zone, zeros included. interval: hour (at most 744 points), day (3,700) or month (1,200); 400 beyond. Visits count in the interval of their first view; visitors (distinct within the interval) for hour and day only. Baselines apart.")
            .Produces<SeriesResponse>().Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
