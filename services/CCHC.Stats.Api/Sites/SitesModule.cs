using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Sites;

public static class SitesModule
{
    public static IServiceCollection AddSites(this IServiceCollection services) => services.AddSingleton<SiteDirectory>();

    public static IEndpointRouteBuilder MapSites(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites", ListSites.Handle).RequireKey(KeyRole.Admin)
            .WithTags("Sites").WithSummary("Every site (id, name, time zone, allowed hosts, groups), ordered by id.")
            .Produces<SiteListResponse>();
        var sites = app.MapGroup("/api/v1/sites/{siteId}").RequireKey(KeyRole.Admin).WithTags("Sites");
        sites.MapPut("", async (string siteId, HttpContext http, Marten.IDocumentSession session, SiteDirectory directory, TimeProvider clock, CancellationToken ct) =>
        {
            var body = await JsonBody.ReadAsync<SiteRequest>(http.Request, 64 * 1024, ct);
            return body.Problem ?? await PutSite.Handle(siteId, body.Value, session, directory, clock, ct);
        })
            .WithSummary("Create or update a site.")
            .WithDescription("siteId: 1–64 of a-z 0-9 - _. timeZone: an IANA id (default Asia/Ho_Chi_Minh); onlineWindowMinutes 1–60 (default 5).")
            .Accepts<SiteRequest>("application/json").Produces<SiteResponse>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        sites.MapGet("", GetSite.Handle).RequireSite().WithSummary("Read a site.").Produces<SiteResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
