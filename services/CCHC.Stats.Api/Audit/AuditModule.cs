using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Api.Audit;

public static class AuditModule
{
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
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
        app.MapGet("/api/v1/sites/{siteId}/events", ExportHistory.Handle).RequireKey(KeyRole.Auditor).RequireSite()
            .WithTags("Audit").WithSummary("The recorded history in sequence order, streamed (format=ndjson|csv; from inclusive, to exclusive).")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson", additionalContentTypes: "text/csv")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGet("/api/v1/sites/{siteId}/verify", VerifyCounters.Handle).RequireKey(KeyRole.Auditor).RequireSite()
            .WithTags("Audit").WithSummary("Recount every period in the range from the raw events, compare with the live counters, re-check the day seals.")
            .Produces<VerifyCounters.Report>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPost("/api/v1/admin/rebuild", (RebuildCounters rebuild, CancellationToken ct) => rebuild.StartAsync(ct)).RequireKey(KeyRole.Admin)
            .WithTags("Audit").WithSummary("Rebuild every counter from the event store while the service keeps serving.")
            .Produces<RebuildCounters.Progress>(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status409Conflict);
        app.MapGet("/api/v1/admin/rebuild", async (RebuildCounters rebuild, CancellationToken ct) => Results.Ok(await rebuild.ProgressAsync(ct)))
            .WithTags("Audit").WithSummary("The rebuild's progress: state idle | running | completed | failed.")
            .Produces<RebuildCounters.Progress>()
            .RequireKey(KeyRole.Admin);
        return app;
    }
}
