using System.Collections.Concurrent;
using Marten;

namespace CCHC.Stats.Api.Groups;

/// <summary>
/// The groups, kept in memory for the counter reads: all of them are re-read by <see cref="GroupCounters"/> at every
/// refresh, so another node's edit arrives within one; one written on this node is served at once.
/// </summary>
public sealed class GroupDirectory(IDocumentStore store)
{
    private readonly ConcurrentDictionary<string, Group> _groups = new();

    public IReadOnlyCollection<Group> Known => _groups.Values.ToArray();

    public bool TryGet(string groupId, out Group group) => _groups.TryGetValue(groupId, out group!);

    /// <summary>A group from memory, or from the store when this node has not seen it yet.</summary>
    public async ValueTask<Group?> FindAsync(string groupId, CancellationToken ct)
    {
        if (_groups.TryGetValue(groupId, out var group))
        {
            return group;
        }

        await using var session = store.QuerySession();
        group = await session.LoadAsync<Group>(groupId, ct);
        return group is null ? null : _groups.GetOrAdd(groupId, group);
    }

    public void Remember(Group group) => _groups[group.Id] = group;

    /// <summary>Reads every group again; answers them.</summary>
    public async Task<IReadOnlyList<Group>> LoadAllAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var all = await session.Query<Group>().ToListAsync(ct);
        foreach (var group in all)
        {
            _groups[group.Id] = group;
        }

        return all;
    }

    /// <summary>The ids of the groups each site belongs to now, by id.</summary>
    public static ILookup<string, string> GroupsOfSites(IEnumerable<Group> groups) =>
        groups.OrderBy(g => g.Id, StringComparer.Ordinal).SelectMany(g => g.Sites.Select(s => (Site: s, Group: g.Id))).ToLookup(p => p.Site, p => p.Group);
}
