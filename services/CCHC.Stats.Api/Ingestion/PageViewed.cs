using System.Text.Json.Serialization;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// A page view was accepted. It carries every fact a replay needs, so the projections never consult a
/// site's settings (which may change) to place it: <see cref="OccurredAt"/> is written in the site's local
/// offset at the time, and <see cref="Day"/> is that local date, from which week, month and year follow.
/// </summary>
/// <param name="SiteId">The site the view belongs to.</param>
/// <param name="OccurredAt">When the view happened, in the site's local offset.</param>
/// <param name="Day">The site-local date of <paramref name="OccurredAt"/>.</param>
/// <param name="VisitorHash">The visitor's daily pseudonym (a salted hash; no IP or User-Agent).</param>
/// <param name="Url">The viewed page.</param>
/// <param name="Referrer">Where the visitor came from, if known.</param>
/// <param name="Title">The page title, if sent.</param>
/// <remarks>
/// Stored as one row of <c>mt_events</c> per view, so its size is the store's size: an absent referrer or title
/// is left out of the JSON rather than written as <c>null</c> (readers treat a missing key as null).
/// </remarks>
public sealed record PageViewed(
    string SiteId,
    DateTimeOffset OccurredAt,
    DateOnly Day,
    string VisitorHash,
    string Url,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Referrer,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Title);

/// <summary>
/// The message that carries accepted views over the bus to the event store, many per message: one message
/// is one append transaction (see <see cref="ViewBatcher"/> for why views are grouped).
/// </summary>
/// <param name="GroupId">
/// Chosen by the node that accepted the views, and the id of the stream they are stored as: a message delivered
/// twice (a broker redelivery after a consumer died before its acknowledgement, a publisher's retry, a retried
/// commit) finds its stream already holding its views and is dropped, so a view is stored once.
/// </param>
/// <param name="Views">The views, all accepted and none a bot's.</param>
public sealed record RecordPageViews(Guid GroupId, IReadOnlyList<PageViewed> Views)
{
    public static RecordPageViews Of(IReadOnlyList<PageViewed> views) => new(Guid.CreateVersion7(), views);
}
