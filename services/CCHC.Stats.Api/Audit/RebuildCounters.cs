using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using JasperFx.Events.Daemon;
using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Audit;

/// <summary>The state of the last counter rebuild, shared by every node (a Marten document).</summary>
public sealed class RebuildStatus
{
    public const string SingletonId = "counters";

    /// <summary>The <see cref="State"/> of a rebuild under way (read by SQL too: asOf answers wait it out).</summary>
    public const string Running = "running";

    public string Id { get; set; } = SingletonId;

    /// <summary><c>idle</c>, <c>running</c>, <c>completed</c> or <c>failed</c>.</summary>
    public string State { get; set; } = "idle";

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public long TotalEvents { get; set; }

    /// <summary>The projection's progress when the rebuild was asked for: until the daemon resets it, no progress.</summary>
    public long ProgressAtStart { get; set; }

    public string? Error { get; set; }
}

/// <summary>
/// <c>POST /api/v1/admin/rebuild</c> (202; 409 while one runs) and <c>GET /api/v1/admin/rebuild</c> (admin):
/// rebuilds every counter from the event store while the service keeps serving.
/// </summary>
/// <remarks>
/// Any node takes the request; it only marks the shared <see cref="RebuildStatus"/> document as running. The
/// rebuild itself runs on the node that runs the projections (<see cref="RebuildWorker"/>): a rebuild anywhere
/// else would apply events beside the running projection and count them twice. While it runs, every node keeps
/// serving the live figures it had when it began (the refresher does not publish half-rebuilt documents) and
/// as-of reads answer 503 with Retry-After; the new figures appear when the rebuild completes.
/// </remarks>
public sealed class RebuildCounters(IDocumentStore store, NpgsqlDataSource database, CounterReplay replay, IServiceProvider services,
    TimeProvider clock, ILogger<RebuildCounters> logger)
{
    /// <summary>
    /// How long to wait for the daemon's high-water mark to reach the newest event of the request: beyond Marten's
    /// stale-gap threshold (15 s), after which a gap no longer holds it back.
    /// </summary>
    private static readonly TimeSpan HighWaterWait = TimeSpan.FromSeconds(30);

    /// <summary>Held by the node running a rebuild; if that node dies, the lock goes with its connection.</summary>
    private const long LockKey = 0x43434843_52424C44; // "CCHC" "RBLD"

    private readonly SemaphoreSlim _starting = new(1, 1);

    /// <summary>Whether this node is replaying the counters now (its daemon is paused meanwhile).</summary>
    public bool RunsHere { get; private set; }

    public sealed record Progress(string State, DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt, long ProcessedEvents, long TotalEvents, string? Error);

    public async Task<bool> IsRunningAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return (await session.LoadAsync<RebuildStatus>(RebuildStatus.SingletonId, ct))?.State == RebuildStatus.Running;
    }

    public async Task<IResult> StartAsync(CancellationToken ct)
    {
        await _starting.WaitAsync(ct);
        try
        {
            await using var session = store.LightweightSession();
            var status = await session.LoadAsync<RebuildStatus>(RebuildStatus.SingletonId, ct) ?? new RebuildStatus();
            if (status.State == RebuildStatus.Running)
            {
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "A rebuild is already running.",
                    detail: $"Started at {status.StartedAt:O}; follow it at GET /api/v1/admin/rebuild.");
            }

            status.State = RebuildStatus.Running;
            status.StartedAt = clock.GetUtcNow();
            status.CompletedAt = null;
            status.Error = null;
            status.TotalEvents = await NewestEventAsync(ct);
            status.ProgressAtStart = await CounterProgressAsync(ct);
            session.Store(status);
            await session.SaveChangesAsync(ct);
            return Results.Accepted("/api/v1/admin/rebuild", await ProgressAsync(ct));
        }
        finally
        {
            _starting.Release();
        }
    }

    public async Task<Progress> ProgressAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var status = await session.LoadAsync<RebuildStatus>(RebuildStatus.SingletonId, ct) ?? new RebuildStatus();
        var processed = await CounterProgressAsync(ct);
        if (status.State == RebuildStatus.Running && processed == status.ProgressAtStart)
        {
            processed = 0;
        }
        else if (status.State == "completed")
        {
            processed = Math.Max(processed, status.TotalEvents);
        }

        return new Progress(status.State, status.StartedAt, status.CompletedAt, Math.Min(processed, status.TotalEvents), status.TotalEvents, status.Error);
    }

    /// <summary>
    /// Runs a requested rebuild if no node is running it (it takes the rebuild lock first). Called on the node that
    /// runs the projections; when the node running a rebuild dies, the next one to run the projections starts it
    /// over. Answers whether it ran one.
    /// </summary>
    public async Task<bool> RunIfRequestedAsync(CancellationToken ct)
    {
        if (!await IsRunningAsync(ct))
        {
            return false;
        }

        await using var rebuildLock = await AdvisoryLock.TryTakeAsync(database, LockKey, ct);
        if (rebuildLock is null)
        {
            return false;
        }

        // Another node may have finished it between the first look and the lock.
        if (!await IsRunningAsync(ct))
        {
            return false;
        }

        await RunAsync(ct);
        return true;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        string state;
        string? error = null;
        var coordinator = services.GetRequiredService<IProjectionCoordinator>();
        var daemon = coordinator.DaemonForMainDatabase();
        try
        {
            var ceiling = await HighWaterMarkAsync(daemon, ct);
            logger.LogInformation("Rebuilding the counters on this node from {Events} events", ceiling);

            // Pausing the coordinator stops the projection's agent and keeps it stopped (a stopped agent alone is
            // restarted within a leadership poll), while this node keeps the projection lock: no other node
            // takes over meanwhile.
            RunsHere = true;
            await coordinator.PauseAsync();
            try
            {
                await replay.RunAsync(ceiling, ct);
            }
            finally
            {
                // Counts and progress mark agree after any page (a failed replay sums what it wrote first), so the
                // daemon carries on from wherever the replay stopped: past the high-water mark after a rebuild,
                // without counting anything twice after a failure.
                await coordinator.ResumeAsync();
                RunsHere = false;
            }

            state = "completed";
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogError(e, "The counter rebuild failed");
            state = "failed";
            error = e.Message;
        }

        await using var session = store.LightweightSession();
        var status = await session.LoadAsync<RebuildStatus>(RebuildStatus.SingletonId, CancellationToken.None) ?? new RebuildStatus();
        status.State = state;
        status.Error = error;
        status.CompletedAt = clock.GetUtcNow();
        session.Store(status);
        await session.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>
    /// The daemon's high-water mark (no append below it still in flight) once it has reached the newest event of
    /// the request, or after <see cref="HighWaterWait"/>: events above it are left to the daemon.
    /// </summary>
    private async Task<long> HighWaterMarkAsync(IProjectionDaemon daemon, CancellationToken ct)
    {
        await using (var session = store.QuerySession())
        {
            var target = (await session.LoadAsync<RebuildStatus>(RebuildStatus.SingletonId, ct))?.TotalEvents ?? 0;
            var deadline = clock.GetUtcNow() + HighWaterWait;
            while (daemon.HighWaterMark() < target && clock.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), clock, ct);
            }
        }

        return daemon.HighWaterMark();
    }

    private Task<long> CounterProgressAsync(CancellationToken ct) => CounterProjection.ProgressAsync(store, ct);

    private Task<long> NewestEventAsync(CancellationToken ct) => services.GetRequiredService<MartenTables>().NewestAsync(ct);
}

/// <summary>
/// Looks every second for a requested rebuild and runs it when this node runs the projections (see
/// <see cref="RebuildCounters"/>).
/// </summary>
public sealed class RebuildWorker(RebuildCounters rebuild, ProjectionRole role, TimeProvider clock, ILogger<RebuildWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (role.RunsHere)
                {
                    await rebuild.RunIfRequestedAsync(stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Could not look for a requested rebuild: {Message}", e.Message);
            }
        }
    }
}
