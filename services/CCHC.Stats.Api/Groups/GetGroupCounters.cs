using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Api.Groups;

/// <summary>
/// <c>GET /api/v1/groups/{groupId}/counters[?asOf=]</c> (public): a group's figures, as <see cref="GroupCounters"/> counts
/// them; cached and revalidated as a site's counters are.
/// </summary>
public static class GetGroupCounters
{
    public static async Task<IResult> Handle(
        string groupId, string? asOf, HttpContext http, GroupDirectory groups, GroupCounters counters, TimeProvider clock, CancellationToken ct)
    {
        if (asOf is null && counters.TryGet(groupId, out var cached))
        {
            return Serve(http, cached);
        }

        var group = await FindAsync(groupId, groups, ct);
        if (group is null)
        {
            return GroupProblems.NotFound(groupId);
        }

        if (asOf is null)
        {
            var fresh = await counters.RefreshAsync(group, ct);
            return fresh is null ? GetCounters.CatchingUp(http) : Serve(http, fresh);
        }

        var (moment, problem) = GetCounters.ReadAsOf(asOf, clock);
        if (problem is not null)
        {
            return problem;
        }

        var figures = await counters.AsOfAsync(group, moment!.Value, ct);
        return figures is null ? GetCounters.CatchingUp(http) : Serve(http, GroupCounters.Render(figures));
    }

    /// <summary>A group by a route's id; null when the id is malformed or names no group.</summary>
    public static async ValueTask<Group?> FindAsync(string groupId, GroupDirectory groups, CancellationToken ct) =>
        PutSite.IsValidSiteId(groupId) ? await groups.FindAsync(groupId, ct) : null;

    private static IResult Serve(HttpContext http, GroupCounters.Snapshot snapshot) =>
        CacheableJson.ServeMade(http, snapshot.Body, snapshot.ETag, GetCounters.MaxAgeSeconds);
}

public static class GroupProblems
{
    public static IResult NotFound(string groupId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown group.", detail: $"No group '{groupId}' is registered.");
}
