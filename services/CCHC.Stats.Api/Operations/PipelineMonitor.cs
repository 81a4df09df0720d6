using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using Marten;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace CCHC.Stats.Api.Operations;

/// <summary>
/// Watches the pipeline every few seconds: how far the counter projection is behind the newest committed
/// event (in events and in seconds), how many views wait to be committed, and how many messages lie in
/// Wolverine's dead letters. Feeds the metrics, the dashboard and the readiness check.
/// </summary>
/// <remarks>
/// Lag is measured against the newest committed event, not the sequence's value: rolled-back appends leave
/// numbers that no event holds, and the daemon skips them.
/// </remarks>
public sealed class PipelineMonitor(IDocumentStore store, NpgsqlDataSource database, MartenTables tables, ViewBatcher batcher, ProjectionRole role,
    TimeProvider clock, ILogger<PipelineMonitor> logger) : BackgroundService
{
    /// <summary>The projection counts as stopped when it is behind and has not moved for this long.</summary>
    public static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private long _lastProgress = -1;
    private DateTimeOffset _progressMovedAt;

    /// <summary>The latest reading.</summary>
    public PipelineState State { get; private set; } = PipelineState.Unknown;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            try
            {
                State = await ReadAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                State = State with { DatabaseReachable = false, ReadAt = clock.GetUtcNow(), Backlog = batcher.Backlog, RunsProjections = role.RunsHere };
                logger.LogWarning("Pipeline state unavailable: {Message}", e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<PipelineState> ReadAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var schema = store.Options.Events.DatabaseSchemaName;
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.NewestCommand());
        batch.BatchCommands.Add(tables.CountersCommand());
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = 'wolverine_dead_letters'"));
        long newest, progress, deadLetterTable;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            newest = await ScalarAsync(reader, ct);
            await reader.NextResultAsync(ct);
            progress = await ScalarAsync(reader, ct);
            await reader.NextResultAsync(ct);
            deadLetterTable = await ScalarAsync(reader, ct);
        }

        var lagSeconds = 0.0;
        if (newest > progress)
        {
            await using var oldest = database.CreateBatch();
            oldest.BatchCommands.Add(tables.StoredAfterCommand(progress));
            if (await oldest.ExecuteScalarAsync(ct) is DateTime waitingSince)
            {
                lagSeconds = Math.Max(0, (now - new DateTimeOffset(DateTime.SpecifyKind(waitingSince, DateTimeKind.Utc))).TotalSeconds);
            }
        }

        var deadLetters = 0L;
        if (deadLetterTable > 0)
        {
            await using var count = database.CreateCommand($"SELECT count(*) FROM {schema}.wolverine_dead_letters WHERE archived_at IS NULL");
            deadLetters = (long)(await count.ExecuteScalarAsync(ct))!;
        }

        if (progress != _lastProgress)
        {
            _lastProgress = progress;
            _progressMovedAt = now;
        }

        var stalled = newest > progress && now - _progressMovedAt > StallAfter;
        return new PipelineState(true, newest, progress, newest - progress, lagSeconds, batcher.Backlog, deadLetters, stalled, now)
        {
            RunsProjections = role.RunsHere,
        };
    }

    private static async Task<long> ScalarAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        await reader.ReadAsync(ct);
        return reader.GetInt64(0);
    }
}

/// <summary>One reading of the pipeline.</summary>
public sealed record PipelineState(
    bool DatabaseReachable,
    long NewestEvent,
    long ProjectionProgress,
    long LagEvents,
    double LagSeconds,
    int Backlog,
    long DeadLetters,
    bool ProjectionStalled,
    DateTimeOffset ReadAt)
{
    /// <summary>Whether this node is the one running the projections (see <see cref="ProjectionRole"/>).</summary>
    public bool RunsProjections { get; init; }

    public static readonly PipelineState Unknown = new(false, 0, 0, 0, 0, 0, 0, false, default);
}

/// <summary>Ready only while the projections advance: behind and not moving for 30 s is not ready.</summary>
public sealed class ProjectionHealthCheck(PipelineMonitor monitor) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = monitor.State;
        return Task.FromResult(state.ProjectionStalled
            ? HealthCheckResult.Unhealthy($"The counter projection is {state.LagEvents} events behind and has not moved for {PipelineMonitor.StallAfter.TotalSeconds:F0} s.")
            : HealthCheckResult.Healthy($"{state.LagEvents} events behind ({state.LagSeconds:F1} s)."));
    }
}
