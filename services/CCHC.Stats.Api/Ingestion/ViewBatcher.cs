using System.Threading.Channels;
using CCHC.Stats.Api.Operations;
using CCHC.Stats.Api.Hosting;
using Microsoft.Extensions.Options;
using Wolverine;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// Group commit for public views. Each request hands its view here and waits; a committer takes whatever
/// has queued up (at most <see cref="StatsOptions.MaxViewsPerTransaction"/>), sends it over the bus as one
/// <see cref="RecordPageViews"/>, and answers every waiting request once the group is durable (committed to the
/// event store, or confirmed by the broker: <see cref="ViewTransport"/>).
/// <see cref="StatsOptions.ConcurrentCommits"/> committers run at once; each group is its own stream, so
/// they never contend.
/// </summary>
/// <remarks>
/// A transaction per view caps this stack near 1k views/s on two cores; grouping lifts it by an order of
/// magnitude. The loop never waits to fill a group: after a short <see cref="StatsOptions.CommitLinger"/> it commits
/// what is queued, and views pile up while the previous commit is in flight, so the group size follows the load.
/// </remarks>
public sealed class ViewBatcher(IServiceScopeFactory scopes, Npgsql.NpgsqlDataSource database, ViewTransport transport, TimeProvider clock, IOptions<StatsOptions> options, StatsMetrics metrics, ILogger<ViewBatcher> logger) : BackgroundService
{
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(50_000)
    {
        SingleReader = false,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>A view waiting for its group's commit, and when its sender began to wait (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    private sealed record Pending(PageViewed View, TaskCompletionSource Durable, long Since);

    /// <summary>Views waiting to be committed.</summary>
    public int Backlog => _queue.Reader.Count;

    /// <summary>Completes once the view is durable (see <see cref="ViewTransport"/>); throws if it could not be made so.</summary>
    public async Task RecordAsync(PageViewed view, CancellationToken ct)
    {
        var pending = new Pending(view, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), clock.GetTimestamp());
        await _queue.Writer.WriteAsync(pending, ct);
        try
        {
            await pending.Durable.Task.WaitAsync(options.Value.DurableWriteTimeout, ct);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // Withdraw the view if the loop has not taken it yet, so that a sender told 503 is not counted.
            pending.Durable.TrySetCanceled(CancellationToken.None);
            throw;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(Enumerable.Range(0, options.Value.ConcurrentCommits).Select(_ => CommitLoopAsync(stoppingToken)));

        // Shutting down: whoever still waits is told the view was not taken, so it gets a 503, never a 202.
        while (_queue.Reader.TryRead(out var left))
        {
            left.Durable.TrySetCanceled(stoppingToken);
        }
    }

    /// <summary>
    /// One committer: takes what is queued, commits it, repeats. Several run side by side so that one
    /// group's commit (its round trips and its WAL flush) overlaps the next group's.
    /// </summary>
    private async Task CommitLoopAsync(CancellationToken stoppingToken)
    {
        var max = options.Value.MaxViewsPerTransaction;
        var group = new List<Pending>(max);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                // A moment for more views to arrive: the fixed cost of a commit is then shared by more of them.
                if (options.Value.CommitLinger > TimeSpan.Zero && reader.Count < max)
                {
                    await Task.Delay(options.Value.CommitLinger, clock, stoppingToken);
                }

                group.Clear();
                while (group.Count < max && reader.TryRead(out var pending))
                {
                    if (!pending.Durable.Task.IsCompleted)
                    {
                        group.Add(pending);
                    }
                }

                if (group.Count > 0)
                {
                    await CommitAsync(group, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CommitAsync(IReadOnlyList<Pending> group, CancellationToken ct)
    {
        var started = clock.GetTimestamp();

        // The group is given up when its first sender stops waiting (each waits DurableWriteTimeout from its RecordAsync):
        // a commit still running then is cancelled, so it rolls back, and a view whose sender got 503 is not counted
        // (rare exception: a commit that completes at that very moment). Unbounded, a commit held up in the database
        // would go on after its senders were told 503, and the views they send again would be counted twice.
        var left = options.Value.DurableWriteTimeout - clock.GetElapsedTime(group.Min(p => p.Since));
        using var senderDeadline = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero, clock);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(senderDeadline.Token, ct);
        try
        {
            // The bus is scoped (it carries the message context): one scope per transaction.
            await using var scope = scopes.CreateAsyncScope();
            var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
            await transport.DeliverAsync(bus, RecordPageViews.Of(group.Select(p => p.View).ToArray()), deadline.Token);
            metrics.Committed(group.Count, clock.GetElapsedTime(started));
            foreach (var pending in group)
            {
                pending.Durable.TrySetResult();
            }
        }
        catch (Exception e) when (StoreFaults.IsContentFault(e))
        {
            // The store refused a value of one view (the door checks what it knows of; this is for what it does not).
            // The others are not to pay for it: the group is split and each half committed alone, down to the view at
            // fault, whose sender alone is refused. Nothing of a refused transaction was stored, so none counts twice.
            // The connection that met the refusal goes back to the pool in a state that fails its next user ("unexpected
            // backend message"), which would be another sender's group: the pool is emptied, so every connection is fresh.
            database.Clear();
            if (group.Count == 1)
            {
                logger.LogWarning("The event store refused a view's content ({SqlState}); its sender gets 400",
                    (e as Npgsql.PostgresException ?? e.InnerException as Npgsql.PostgresException)?.SqlState);
                group[0].Durable.TrySetException(new UnstorableViewException(e));
                return;
            }

            var half = group.Count / 2;
            await CommitAsync(group.Take(half).ToArray(), ct);
            await CommitAsync(group.Skip(half).ToArray(), ct);
        }
        catch (OperationCanceledException) when (senderDeadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            logger.LogWarning("A group of {Count} views was not durable within its senders' {Deadline}; given up, and they get 503",
                group.Count, options.Value.DurableWriteTimeout);
            var late = new TimeoutException($"Not durable within {options.Value.DurableWriteTimeout}.");
            foreach (var pending in group)
            {
                pending.Durable.TrySetException(late);
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "Could not record a group of {Count} views; their senders get 503", group.Count);
            foreach (var pending in group)
            {
                pending.Durable.TrySetException(e);
            }
        }
    }
}

/// <summary>The event store refused this view's own content: its sender's fault (400), not the store's state (503).</summary>
public sealed class UnstorableViewException(Exception inner) : Exception("The event store refused the view's content.", inner);
