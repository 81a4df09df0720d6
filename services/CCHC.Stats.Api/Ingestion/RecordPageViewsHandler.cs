using Marten;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// Appends a group of accepted views to the event store in one transaction (Wolverine's Marten middleware
/// commits the session when the handler returns). The same handler runs in both transports: called in-process
/// with <c>local</c>, by whichever node consumes the message with <c>rabbitmq</c> (see <see cref="ViewTransport"/>).
/// </summary>
/// <remarks>
/// Every group is a stream of its own, keyed by <see cref="RecordPageViews.GroupId"/>. Views are facts about a
/// site, not commands on an aggregate, so no stream needs a version check, and a stream per group means
/// concurrent writers, on this node or another, never fight over a stream (quick append collides on shared hot
/// streams). A second delivery of the same group collides on its stream id and is discarded
/// (<see cref="ViewTransport"/> sets that policy): each view is stored once.
/// </remarks>
public static class RecordPageViewsHandler
{
    public static void Handle(RecordPageViews command, IDocumentSession session)
    {
        if (command.Views.Count > 0)
        {
            session.Events.StartStream(command.GroupId, command.Views);
        }
    }
}
