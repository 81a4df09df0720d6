using Marten;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// Appends a group of accepted views to the event store in one transaction (Wolverine's Marten middleware
/// commits the session when the handler returns).
/// </summary>
/// <remarks>
/// Every group starts a stream of its own. Views are facts about a site, not commands on an aggregate, so
/// no stream needs a version check, and a fresh stream id per transaction means concurrent writers, on this
/// node or another, never fight over a stream (quick append collides on shared hot streams).
/// </remarks>
public static class RecordPageViewsHandler
{
    public static void Handle(RecordPageViews command, IDocumentSession session)
    {
        if (command.Views.Count > 0)
        {
            session.Events.StartStream(Guid.CreateVersion7(), command.Views);
        }
    }
}
