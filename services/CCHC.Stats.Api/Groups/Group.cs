using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Groups;

/// <summary>
/// Sites counted together: a province's portal and its departments' and districts' sites. A Marten document (id = the
/// contract's groupId) that keeps its current settings and every membership it has had (<see cref="History"/>), written in
/// the same transaction as the <see cref="GroupDefined"/> event that records the change. A group stores no counts of its
/// own: its figures are read from its members' (<see cref="GroupCounters"/>).
/// </summary>
public sealed class Group
{
    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    public string TimeZone { get; set; } = CCHC.Stats.Api.Sites.Site.DefaultTimeZone;

    public int OnlineWindowMinutes { get; set; } = CCHC.Stats.Api.Sites.Site.DefaultOnlineWindowMinutes;

    /// <summary>The members now: the last entry of <see cref="History"/>.</summary>
    public List<string> Sites { get; set; } = [];

    /// <summary>Every membership, oldest first.</summary>
    public List<GroupMembership> History { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The members at a moment: the membership in force then (none before the group was made).</summary>
    public IReadOnlyList<string> MembersAt(DateTimeOffset moment) =>
        History.LastOrDefault(m => m.Since <= moment)?.Sites ?? [];

    public TimeZoneInfo Zone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    public GroupResponse ToResponse() => new(Id, Name, TimeZone, Sites, OnlineWindowMinutes, CreatedAt, UpdatedAt, History);
}

/// <summary>
/// A group was made or changed: its settings and members from <see cref="At"/> on. The history of a group's memberships,
/// as the event store keeps it.
/// </summary>
public sealed record GroupDefined(string GroupId, string Name, string TimeZone, IReadOnlyList<string> Sites, int OnlineWindowMinutes, DateTimeOffset At);
