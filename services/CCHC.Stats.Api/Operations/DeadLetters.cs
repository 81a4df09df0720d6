using Wolverine.Persistence.Durability;
using Wolverine.Persistence.Durability.DeadLetterManagement;

namespace CCHC.Stats.Api.Operations;

/// <summary>
/// <c>GET /api/v1/admin/dead-letters</c> and <c>POST /api/v1/admin/dead-letters:replay</c> (admin): what lies
/// in Wolverine's dead letters, and sending it all through its handlers again.
/// </summary>
/// <remarks>
/// Views are appended through <c>InvokeAsync</c>: a failure reaches the sender as a 503, never a dead letter,
/// so with the local transport the count stays at zero. Messages that travel through a queue (the RabbitMQ
/// transport) can end here; each is a lost view until replayed, so the count is a metric and on the dashboard.
/// </remarks>
public static class DeadLetters
{
    public static IResult Count(PipelineMonitor monitor) =>
        Results.Ok(new { deadLetters = monitor.State.DeadLetters, readAt = monitor.State.ReadAt });

    public static async Task<IResult> Replay(IMessageStore store, CancellationToken ct)
    {
        var result = await store.DeadLetters.ReplayMatchingAsync(new DeadLetterEnvelopeQuery(), ct);
        return Results.Accepted(value: new { replayed = result.Affected });
    }
}
