using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Marten;

namespace CCHC.Stats.Api.Groups;

/// <summary>
/// <c>PUT /api/v1/groups/{groupId}</c> (admin): create or change a group. Every member must be a registered site in the
/// group's time zone (a group's day is its members' day). Every change is recorded as a <see cref="GroupDefined"/> event;
/// a change of members also starts a membership (<see cref="Group.History"/>) that counts from its moment on.
/// </summary>
public static class PutGroup
{
    public const int MaxSites = 500;

    public static async Task<IResult> Handle(
        string groupId, GroupRequest? request, IDocumentSession session, GroupDirectory groups, TimeProvider clock, CancellationToken ct)
    {
        var errors = Validate(groupId, request);
        var members = errors.Count == 0 ? request!.Sites!.Distinct(StringComparer.Ordinal).ToList() : [];
        var timeZone = request?.TimeZone ?? Site.DefaultTimeZone;
        if (errors.Count == 0)
        {
            var found = (await session.LoadManyAsync<Site>(ct, members)).ToDictionary(s => s.Id);
            var missing = members.Where(m => !found.ContainsKey(m)).ToList();
            var otherZone = found.Values.Where(s => s.TimeZone != timeZone).Select(s => $"{s.Id} ({s.TimeZone})").ToList();
            if (missing.Count > 0)
            {
                errors["sites"] = [$"No site is registered as: {string.Join(", ", missing)}."];
            }
            else if (otherZone.Count > 0)
            {
                errors["sites"] = [$"Every member must count in the group's time zone {timeZone}; these do not: {string.Join(", ", otherZone)}."];
            }
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The group is not valid.");
        }

        var now = clock.GetUtcNow();
        var group = await session.LoadAsync<Group>(groupId, ct) ?? new Group { Id = groupId, CreatedAt = now };
        var membersChanged = group.History.Count == 0 || !group.Sites.SequenceEqual(members);
        group.Name = request!.Name!.Trim();
        group.TimeZone = timeZone;
        group.OnlineWindowMinutes = request.OnlineWindowMinutes ?? Site.DefaultOnlineWindowMinutes;
        group.Sites = members;
        group.UpdatedAt = now;
        if (membersChanged)
        {
            group.History.Add(new GroupMembership(now, members));
        }

        session.Store(group);
        session.Events.StartStream(Guid.CreateVersion7(),
            new GroupDefined(group.Id, group.Name, group.TimeZone, members, group.OnlineWindowMinutes, now));
        await session.SaveChangesAsync(ct);
        groups.Remember(group);
        return Results.Ok(group.ToResponse());
    }

    /// <summary>Checks a request's shape; answers the errors by field, empty when it is valid (members are looked up after).</summary>
    public static Dictionary<string, string[]> Validate(string groupId, GroupRequest? request)
    {
        var errors = new Dictionary<string, string[]>();
        if (!PutSite.IsValidSiteId(groupId))
        {
            errors["groupId"] = ["A group id is 1–64 characters of a-z, 0-9, '-' and '_'."];
        }

        if (request is null)
        {
            errors["body"] = ["A JSON body with the group is required."];
            return errors;
        }

        PutSite.CheckSettings(errors, request.Name, request.TimeZone, request.OnlineWindowMinutes);

        if (request.Sites is null || request.Sites.Count == 0 || request.Sites.Count > MaxSites)
        {
            errors["sites"] = [$"A group has 1–{MaxSites} member sites."];
        }
        else if (request.Sites.Any(s => s is null || !PutSite.IsValidSiteId(s)))
        {
            errors["sites"] = ["Each member is a site id: 1–64 characters of a-z, 0-9, '-' and '_'."];
        }

        return errors;
    }
}
