using CCHC.Stats.Api.Hosting;

namespace CCHC.Stats.Api.Audit;

public static class AuditModule
{
    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites/{siteId}/events", ExportHistory.Handle).RequireKey(KeyRole.Auditor);
        return app;
    }
}
