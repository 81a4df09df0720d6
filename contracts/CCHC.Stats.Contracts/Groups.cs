namespace CCHC.Stats.Contracts;

/// <summary>Body of <c>PUT /api/v1/groups/{groupId}</c>.</summary>
/// <param name="Name">Display name of the group (a province and its departments' and districts' sites).</param>
/// <param name="TimeZone">IANA time zone; every member must have it. Default <c>Asia/Ho_Chi_Minh</c>.</param>
/// <param name="Sites">The member sites' ids (1–500, each registered).</param>
/// <param name="OnlineWindowMinutes">How far back the group's "online now" looks, 1–60; default 5.</param>
public sealed record GroupRequest(string? Name, string? TimeZone, IReadOnlyList<string>? Sites, int? OnlineWindowMinutes = null);

/// <summary>A stored group, as <c>PUT</c> and <c>GET /api/v1/groups/{groupId}</c> answer it.</summary>
/// <param name="GroupId">The group.</param>
/// <param name="Name">Display name.</param>
/// <param name="TimeZone">IANA time zone, every member's.</param>
/// <param name="Sites">The members now.</param>
/// <param name="OnlineWindowMinutes">How far back the group's "online now" looks.</param>
/// <param name="CreatedAt">When the group was made.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="History">Every membership the group has had, oldest first: each counts from its moment on.</param>
public sealed record GroupResponse(
    string GroupId,
    string Name,
    string TimeZone,
    IReadOnlyList<string> Sites,
    int OnlineWindowMinutes,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<GroupMembership> History);

/// <summary>The group's members from <paramref name="Since"/> on (until the next membership).</summary>
public sealed record GroupMembership(DateTimeOffset Since, IReadOnlyList<string> Sites);

/// <summary>
/// What <c>GET /api/v1/groups/{groupId}/counters</c> answers: the site counters' shape over the group. Page views and visits
/// are the members' sums (baselines included); visitors and online count a person seen on several members once.
/// </summary>
/// <param name="GroupId">The group.</param>
/// <param name="TimeZone">The group's IANA time zone, in which the period keys are given.</param>
/// <param name="AsOf">The moment the figures stand at, in the group's local offset.</param>
/// <param name="Online">Distinct people with a view on any member in the group's online window before <paramref name="AsOf"/>.</param>
/// <param name="Day">The local day (visitors: distinct people over the members).</param>
/// <param name="Week">The ISO-8601 week.</param>
/// <param name="Month">The calendar month.</param>
/// <param name="Year">The calendar year.</param>
/// <param name="Total">All time.</param>
/// <param name="Sites">The members whose figures these are: the group's membership at <paramref name="AsOf"/>.</param>
public sealed record GroupCountersResponse(
    string GroupId,
    string TimeZone,
    DateTimeOffset AsOf,
    long Online,
    PeriodFigures Day,
    PeriodFigures Week,
    PeriodFigures Month,
    PeriodFigures Year,
    PeriodFigures Total,
    IReadOnlyList<string> Sites);
