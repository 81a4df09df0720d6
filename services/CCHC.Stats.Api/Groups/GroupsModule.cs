using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Widget;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Groups;

public static class GroupsModule
{
    public static IServiceCollection AddGroups(this IServiceCollection services)
    {
        services.AddSingleton<GroupDirectory>();
        services.AddSingleton<GroupCounters>();
        services.AddHostedService(sp => sp.GetRequiredService<GroupCounters>());
        return services;
    }

    public static IEndpointRouteBuilder MapGroups(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/groups/{groupId}").RequireKey(KeyRole.Admin).WithTags("Groups");
        admin.MapPut("", async (string groupId, HttpContext http, Marten.IDocumentSession session, GroupDirectory groups, TimeProvider clock, CancellationToken ct) =>
        {
            var body = await JsonBody.ReadAsync<GroupRequest>(http.Request, 64 * 1024, ct);
            return body.Problem ?? await PutGroup.Handle(groupId, body.Value, session, groups, clock, ct);
        })
            .WithSummary("Create or change a group: sites counted together.")
            .WithDescription("groupId: 1–64 of a-z 0-9 - _. Every member must be a registered site in the group's time zone (default Asia/Ho_Chi_Minh). A change of members counts from its moment on; the history records it.")
            .Accepts<GroupRequest>("application/json").Produces<GroupResponse>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        admin.MapGet("", async (string groupId, GroupDirectory groups, Marten.IQuerySession session, CancellationToken ct) =>
            {
                var group = Sites.PutSite.IsValidSiteId(groupId) ? await session.LoadAsync<Group>(groupId, ct) : null;
                return group is null ? GroupProblems.NotFound(groupId) : Results.Ok(group.ToResponse());
            })
            .WithSummary("Read a group, with its membership history.").Produces<GroupResponse>().ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/api/v1/groups/{groupId}/counters", GetGroupCounters.Handle).RequireCors(IngestionModule.PublicCors)
            .WithTags("Groups").WithSummary("A group's counters (public): the site counters' shape over its members.")
            .WithDescription("pageViews and visits are the members' sums (baselines included); visitors and online count a person seen on several members once. asOf: the group as it was at that moment, members included. ETag / If-None-Match (304), Cache-Control: public, max-age=5.")
            .Produces<GroupCountersResponse>().Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/v1/groups/{groupId}/counter.svg", CounterBadge.HandleGroup).RequireCors(IngestionModule.PublicCors)
            .WithTags("Groups").WithSummary("One of a group's live figures as an SVG badge (period, metric, lang as for a site's).")
            .Produces(StatusCodes.Status200OK, contentType: "image/svg+xml").ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
