using System.Threading.Channels;
using Marten;
using Marten.Services;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// Tells this node's <see cref="LiveCounterRefresher"/> that the counter projection has committed a page, so that
/// the new figures are served at once instead of at the next tick (half a tick sooner on average, which is most
/// of what a view waits for after the projection). Only the node running the projection hears it; the others
/// keep to their tick. Registered with Marten as a listener of the async daemon's commits.
/// </summary>
public sealed class CounterCommits : IChangeListener
{
    /// <summary>At most one signal waits: several commits between two refreshes need one refresh.</summary>
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    /// <summary>
    /// Waits until a page is committed or <paramref name="interval"/> has passed, whichever comes first.
    /// </summary>
    public async Task WaitAsync(TimeSpan interval, TimeProvider clock, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var committed = _signals.Reader.WaitToReadAsync(wait.Token).AsTask();
        var elapsed = Task.Delay(interval, clock, wait.Token);
        await Task.WhenAny(committed, elapsed);
        await wait.CancelAsync(); // ends the other wait
        _signals.Reader.TryRead(out _);
        ct.ThrowIfCancellationRequested();
    }

    public Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        _signals.Writer.TryWrite(true);
        return Task.CompletedTask;
    }

    public Task BeforeCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token) => Task.CompletedTask;
}
