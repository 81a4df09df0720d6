using CCHC.Stats.Api.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CCHC.Stats.Api.Operations;

/// <summary>Telemetry and health, in one place.</summary>
public static class OperationsModule
{
    /// <summary>Liveness: the process answers (probes, load balancers; deploy/kubernetes uses it).</summary>
    public const string LivePath = "/health/live";

    /// <summary>Readiness: PostgreSQL answers and the projection is not stuck (operators and alerts watch it).</summary>
    public const string ReadyPath = "/health/ready";

    /// <summary>
    /// This pod can serve: it has started and is not shutting down. What a load balancer or Kubernetes should route
    /// by — in a database outage every node still serves counters from memory and answers views 503 + Retry-After,
    /// so taking them all out of the Service (what <see cref="ReadyPath"/> would do) turns an outage into a blackout.
    /// </summary>
    public const string ServingPath = "/health/serving";

    public static IServiceCollection AddOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<ProjectionRole>();
        services.AddSingleton<PipelineMonitor>();
        services.AddSingleton<TrafficLog>();
        services.AddHostedService(sp => sp.GetRequiredService<TrafficLog>());
        services.AddHostedService(sp => sp.GetRequiredService<PipelineMonitor>());
        services.AddSingleton(sp =>
        {
            // Resolved when observed, not now: the monitor depends on the batcher, which records metrics.
            var metrics = new StatsMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<TrafficLog>());
            metrics.Observe(() => sp.GetRequiredService<PipelineMonitor>().State);
            return metrics;
        });
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("postgres", tags: ["ready"])
            .AddCheck<ProjectionHealthCheck>("projections", tags: ["ready"])
            .AddCheck<ServingHealthCheck>("serving", tags: ["serving"]);

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("cchc-stats"))
            .WithMetrics(metrics => metrics
                .AddMeter(StatsMetrics.MeterName, "Wolverine*", "Marten", "Npgsql")
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());

        // Traces only when something collects them: recording a span per view with nowhere to send it
        // cost CPU on the hottest path.
        if (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.WithTracing(tracing => tracing
                    .AddSource("Wolverine", "Marten", "Npgsql")
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics"))
                    .AddProcessor(new PrivacyScrubber()))
                .UseOtlpExporter();
        }

        return services;
    }

    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapHealthChecks(ServingPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains("serving") });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/dashboard", Dashboard.Handle)
            .WithTags("Operations").WithSummary("The live page for operators.").Produces(StatusCodes.Status200OK, contentType: "text/html");
        app.MapGet("/api/v1/admin/dead-letters", DeadLetters.Count).RequireKey(KeyRole.Admin)
            .WithTags("Operations").WithSummary("How many messages are in the dead letters.");
        app.MapPost("/api/v1/admin/dead-letters:replay", DeadLetters.Replay).RequireKey(KeyRole.Admin)
            .WithTags("Operations").WithSummary("Send every dead letter through its handler again.").Produces(StatusCodes.Status202Accepted);
        return app;
    }
}

/// <summary>Serving from the moment the host has started until it begins to stop (see <see cref="OperationsModule.ServingPath"/>).</summary>
public sealed class ServingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested ? HealthCheckResult.Unhealthy("Shutting down.")
            : lifetime.ApplicationStarted.IsCancellationRequested ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("Starting."));
}

/// <summary>Ready only while PostgreSQL answers.</summary>
public sealed class DatabaseHealthCheck(NpgsqlDataSource database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await using var command = database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL does not answer.", e);
        }
    }
}
