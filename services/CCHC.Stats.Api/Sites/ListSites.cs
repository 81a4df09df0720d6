using CCHC.Stats.Api.Groups;
using CCHC.Stats.Contracts;
using Marten;

namespace CCHC.Stats.Api.Sites;

/// <summary><c>GET /api/v1/sites</c> (admin): every site, by id, with the groups it belongs to.</summary>
public static class ListSites
{
    public static async Task<IResult> Handle(IQuerySession session, CancellationToken ct)
    {
        var sites = (await session.Query<Site>().ToListAsync(ct)).OrderBy(s => s.Id, StringComparer.Ordinal);
        var groups = GroupDirectory.GroupsOfSites(await session.Query<Group>().ToListAsync(ct));
        return Results.Ok(new SiteListResponse(sites.Select(s => new SiteSummary(s.Id, s.Name, s.TimeZone, s.AllowedHosts, groups[s.Id].ToList())).ToList()));
    }
}
