using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Sites;

public static class SitesModule
{
    public static IServiceCollection AddSites(this IServiceCollection services) => services.AddSingleton<SiteDirectory>();

    public static IEndpointRouteBuilder MapSites(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites", ListSites.Handle).RequireKey(KeyRole.Admin);
        var sites = app.MapGroup("/api/v1/sites/{siteId}").RequireKey(KeyRole.Admin);
        sites.MapPut("", async (string siteId, HttpContext http, Marten.IDocumentSession session, SiteDirectory directory, TimeProvider clock, CancellationToken ct) =>
        {
            var body = await JsonBody.ReadAsync<SiteRequest>(http.Request, 64 * 1024, ct);
            return body.Problem ?? await PutSite.Handle(siteId, body.Value, session, directory, clock, ct);
        });
        sites.MapGet("", GetSite.Handle);
        return app;
    }
}
