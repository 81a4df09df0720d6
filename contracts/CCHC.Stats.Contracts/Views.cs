namespace CCHC.Stats.Contracts;

/// <summary>One page view as a widget or a page sends it to <c>POST /api/v1/sites/{siteId}/views</c>.</summary>
/// <param name="Url">Absolute http(s) URL of the viewed page; its host must be one of the site's allowed hosts.</param>
/// <param name="Referrer">The page the visitor came from, if any.</param>
/// <param name="Title">The page title, if any.</param>
public sealed record PageViewRequest(string? Url, string? Referrer = null, string? Title = null);

/// <summary>One item of <c>POST /api/v1/sites/{siteId}/views:batch</c> (trusted server-side ingestion, log import).</summary>
/// <param name="Url">As for a public view.</param>
/// <param name="Referrer">As for a public view.</param>
/// <param name="Title">As for a public view.</param>
/// <param name="OccurredAt">When the view happened; required, at most 5 minutes in the future.</param>
/// <param name="VisitorId">An opaque visitor id chosen by the sender; it is hashed before storage.</param>
/// <param name="UserAgent">The visitor's User-Agent, used only to drop bots; never stored.</param>
public sealed record BatchViewItem(
    string? Url,
    string? Referrer,
    string? Title,
    DateTimeOffset? OccurredAt,
    string? VisitorId,
    string? UserAgent);

/// <summary>The answer to a batch import.</summary>
/// <param name="Accepted">How many items were accepted: recorded, or recognised as bots (accepted and not counted).</param>
/// <param name="Rejected">The items that failed validation, each with its index in the request and why.</param>
/// <param name="Bots">How many of the accepted items came from a known bot and are not counted.</param>
public sealed record BatchResult(int Accepted, IReadOnlyList<RejectedItem> Rejected, int Bots);

/// <summary>One refused item of a batch.</summary>
public sealed record RejectedItem(int Index, string Reason);
