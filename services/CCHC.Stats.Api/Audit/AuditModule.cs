using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;

namespace CCHC.Stats.Api.Audit;

public static class AuditModule
{
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddSingleton<Recount>();
        services.AddSingleton<DaySeals>();
        services.AddSingleton<DaySealer>();
        services.AddSingleton<RebuildCounters>();
        services.AddSingleton<CounterReplay>();
        services.AddHostedService<RebuildWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<DaySealer>());
        return services;
    }

    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites/{siteId}/events", ExportHistory.Handle).RequireKey(KeyRole.Auditor);
        app.MapGet("/api/v1/sites/{siteId}/verify", VerifyCounters.Handle).RequireKey(KeyRole.Auditor);
        app.MapPost("/api/v1/admin/rebuild", (RebuildCounters rebuild, CancellationToken ct) => rebuild.StartAsync(ct)).RequireKey(KeyRole.Admin);
        app.MapGet("/api/v1/admin/rebuild", async (RebuildCounters rebuild, CancellationToken ct) => Results.Ok(await rebuild.ProgressAsync(ct)))
            .RequireKey(KeyRole.Admin);
        return app;
    }
}
