using System.Text.Json.Serialization;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// A page view was accepted. It carries every fact a replay needs, so the projections never consult a
/// site's settings (which may change) to place it: <see cref="OccurredAt"/> is written in the site's local
/// offset at the time, so its date is the site's local day (<see cref="Day"/>), from which week, month and year follow.
/// </summary>
/// <param name="SiteId">The site the view belongs to.</param>
/// <param name="OccurredAt">When the view happened, in the site's local offset.</param>
/// <param name="VisitorHash">The visitor's daily pseudonym (a salted hash; no IP or User-Agent).</param>
/// <param name="Url">The viewed page.</param>
/// <param name="Referrer">Where the visitor came from, if known.</param>
/// <param name="Title">The page title, if sent.</param>
/// <remarks>
/// Stored as one row of <c>mt_events</c> per view, so its size is the store's size: an absent referrer or title
/// is left out of the JSON rather than written as <c>null</c> (readers treat a missing key as null), and the day is not
/// written at all: it is the first ten characters of <c>occurredAt</c> (21 bytes a view), which is how the SQL reads it
/// too (<see cref="Hosting.MartenTables.DayOf"/>). Views stored by earlier versions also carry the same date as
/// <c>day</c>; nothing reads it.
/// </remarks>
public sealed record PageViewed(
    string SiteId,
    DateTimeOffset OccurredAt,
    string VisitorHash,
    string Url,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Referrer,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Title)
{
    /// <summary>The site-local date of <see cref="OccurredAt"/>: the day the view counts in.</summary>
    [JsonIgnore]
    public DateOnly Day => DateOnly.FromDateTime(OccurredAt.DateTime);
}

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
