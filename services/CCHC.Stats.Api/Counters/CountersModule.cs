using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;

namespace CCHC.Stats.Api.Counters;

public static class CountersModule
{
    public static IServiceCollection AddCounters(this IServiceCollection services)
    {
        services.AddSingleton<LiveCounters>();
        services.AddSingleton<LiveCounterRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveCounterRefresher>());
        services.AddSingleton<CountersAsOf>();
        services.AddSingleton<SiteBaselines>();
        return services;
    }

    public static IEndpointRouteBuilder MapCounters(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites/{siteId}/counters", GetCounters.Handle).RequireCors(IngestionModule.PublicCors);
        app.MapPost("/api/v1/sites/{siteId}/baseline", RecordBaseline.Handle).RequireKey(KeyRole.Admin);
        app.MapPost("/api/v1/sites/{siteId}/baseline/{sequence}:withdraw", WithdrawBaseline.Handle).RequireKey(KeyRole.Admin);
        return app;
    }
}
