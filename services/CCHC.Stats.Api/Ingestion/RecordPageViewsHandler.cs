using Marten;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// Appends a group of accepted views to the event store in one transaction (Wolverine's Marten middleware
/// commits the session when the handler returns). The same handler runs in both transports: called in-process
/// with <c>local</c>, by whichever node consumes the message with <c>rabbitmq</c> (see <see cref="ViewTransport"/>).
/// </summary>
/// <remarks>
/// <para>
/// Every group is a stream of its own, keyed by <see cref="RecordPageViews.GroupId"/>. Views are facts about a
/// site, not commands on an aggregate, so no two groups share a stream and concurrent writers, on this node or
/// another, never fight over one.
/// </para>
/// <para>
/// The append expects the stream to end at the group's own size, i.e. to be new: a second delivery of the same
/// group finds it already holding those views and fails with <c>EventStreamUnexpectedMaxEventIdException</c>,
/// which the transports treat as "already stored" (<see cref="ViewTransport"/>); each view is stored once.
/// An append with an expected version goes through Marten's <c>mt_quick_append_events</c> function, one call
/// per group; <c>StartStream</c> sends one INSERT per view, and ingestion end to end was 7.7k instead of 9.5–9.8k
/// views/s in the same 20 s run (docs/BENCHMARKS.md).
/// </para>
/// </remarks>
public static class RecordPageViewsHandler
{
    public static void Handle(RecordPageViews command, IDocumentSession session)
    {
        if (command.Views.Count > 0)
        {
            session.Events.Append(command.GroupId, command.Views.Count, command.Views);
        }
    }
}
