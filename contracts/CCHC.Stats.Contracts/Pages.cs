namespace CCHC.Stats.Contracts;

/// <summary>What <c>GET /api/v1/sites/{siteId}/pages/views?url=</c> answers: the page views of one page ("Lượt xem").</summary>
/// <param name="SiteId">The site.</param>
/// <param name="Page">The page of the URL asked for: path and sorted query, without scheme, host, fragment or tracking parameters.</param>
/// <param name="Title">The newest non-empty title sent with a view of the page (or its baseline); null when none was.</param>
/// <param name="AsOf">The moment the figures stand at, in the site's local offset.</param>
/// <param name="Day">The local day containing <paramref name="AsOf"/>.</param>
/// <param name="Week">The ISO-8601 week.</param>
/// <param name="Month">The calendar month.</param>
/// <param name="Year">The calendar year.</param>
/// <param name="Total">All time, the page's baselines included.</param>
public sealed record PageViewsResponse(
    string SiteId,
    string Page,
    string? Title,
    DateTimeOffset AsOf,
    PagePeriodFigures Day,
    PagePeriodFigures Week,
    PagePeriodFigures Month,
    PagePeriodFigures Year,
    PagePeriodFigures Total);

/// <summary>A page's views in one period.</summary>
public sealed record PagePeriodFigures(string Key, long PageViews);

/// <summary>What <c>GET /api/v1/sites/{siteId}/pages/top</c> answers: the most-read list ("Tin đọc nhiều").</summary>
/// <param name="Period">The period ranked: its kind (<c>day</c>, <c>week</c>, <c>month</c>, <c>year</c>, <c>total</c>) and key.</param>
/// <param name="Pages">By page views, descending, then by page.</param>
public sealed record TopPagesResponse(TopPagesPeriod Period, IReadOnlyList<TopPage> Pages);

/// <summary>The period a most-read list ranks.</summary>
public sealed record TopPagesPeriod(string Kind, string Key);

/// <summary>One page of the most-read list.</summary>
public sealed record TopPage(string Page, string? Title, long PageViews);

/// <summary>Body of <c>POST /api/v1/sites/{siteId}/pages:baseline</c>: a legacy CMS's per-article totals carried over.</summary>
/// <param name="AsOf">The moment the totals stood at (ISO-8601 with offset).</param>
/// <param name="Pages">At most 10,000 items, each checked alone.</param>
public sealed record PageBaselineRequest(DateTimeOffset? AsOf, IReadOnlyList<PageBaselineItem>? Pages);

/// <summary>One article's legacy total.</summary>
/// <param name="Url">The article's absolute URL, on a host the site allows.</param>
/// <param name="PageViews">Its total, 0–10^12.</param>
/// <param name="Title">Its title, optional.</param>
public sealed record PageBaselineItem(string? Url, long? PageViews, string? Title = null);

/// <summary>What <c>POST pages:baseline</c> answers: how many items were recorded, and each rejected one with its reason.</summary>
public sealed record PageBaselineResult(int Accepted, IReadOnlyList<RejectedItem> Rejected);
