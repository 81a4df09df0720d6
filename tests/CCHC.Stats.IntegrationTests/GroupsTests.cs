using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Groups;
using Microsoft.Extensions.DependencyInjection;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// The contract's Groups section through the public endpoints: page views and visits are the members' sums, a person read
/// on two members is one visitor and one online, and a change of members counts from its moment on.
/// </summary>
public sealed class GroupsTests(StatsApp app)
{
    private static string NewGroupId() => $"g-{Guid.NewGuid():N}"[..20];

    private async Task<HttpResponseMessage> PutGroupAsync(string groupId, params string[] sites)
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        return await admin.PutAsJsonAsync($"/api/v1/groups/{groupId}", new GroupRequest("Các cổng TTĐT tỉnh", "Asia/Ho_Chi_Minh", sites));
    }

    /// <summary>A reader's browser: one person (an IP and User-Agent) whose views go to whichever site they read.</summary>
    private HttpClient Person(int n)
    {
        var client = app.Browser();
        client.DefaultRequestHeaders.UserAgent.Clear();
        client.DefaultRequestHeaders.UserAgent.ParseAdd($"{StatsApp.BrowserAgent} Reader/{n}");
        return client;
    }

    private async Task<GroupCountersResponse> LiveAsync(string groupId)
    {
        await app.CatchUpAsync();
        var groups = app.Services.GetRequiredService<GroupDirectory>();
        await app.Services.GetRequiredService<GroupCounters>().RefreshAsync((await groups.FindAsync(groupId, CancellationToken.None))!, CancellationToken.None);
        using var browser = app.Browser();
        return (await browser.GetFromJsonAsync<GroupCountersResponse>($"/api/v1/groups/{groupId}/counters"))!;
    }

    private async Task<GroupCountersResponse> AsOfAsync(string groupId, DateTimeOffset asOf)
    {
        using var browser = app.Browser();
        var response = await browser.GetAsync($"/api/v1/groups/{groupId}/counters?asOf={Uri.EscapeDataString(asOf.ToString("O"))}");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<GroupCountersResponse>())!;
    }

    [Fact]
    public async Task a_person_read_on_two_members_is_one_visitor_and_one_online_of_the_group()
    {
        var (province, department, outsider) = (await app.NewSiteAsync(), await app.NewSiteAsync(), await app.NewSiteAsync());
        var group = NewGroupId();
        (await PutGroupAsync(group, province, department)).EnsureSuccessStatusCode();
        using var reader = Person(1);
        foreach (var site in new[] { province, department, department, outsider })
        {
            Assert.Equal(202, (int)(await reader.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("https://portal.test/tin-tuc"))).StatusCode);
        }

        var live = await LiveAsync(group);
        var asOf = await AsOfAsync(group, DateTimeOffset.UtcNow);
        var (a, b) = (await app.CountersAsync(province), await app.CountersAsync(department));

        foreach (var figures in new[] { live, asOf })
        {
            Assert.Equal((3L, 2L, 1L), (figures.Day.PageViews, figures.Day.Visits, figures.Day.Visitors!.Value));
            Assert.Equal(1, figures.Online);
            Assert.Equal((3L, 2L), (figures.Total.PageViews, figures.Total.Visits));
            Assert.Equal(new[] { province, department }, figures.Sites);
        }

        Assert.Equal((1L, 1L, 1L, 1L), (a.Online, b.Online, a.Day.Visitors!.Value, b.Day.Visitors!.Value));
        Assert.Equal(a.Day.PageViews + b.Day.PageViews, live.Day.PageViews);
    }

    /// <summary>
    /// As of a moment, a group's online is read in the group's own window, which can be longer than a member's: the member's
    /// figures and who was online in the group's window come from one read of the member (<see cref="CountersAsOf"/>).
    /// </summary>
    [Fact]
    public async Task a_groups_online_as_of_a_moment_is_read_in_the_groups_window_not_its_members()
    {
        var site = await app.NewSiteAsync(onlineWindowMinutes: 5);
        var group = NewGroupId();
        using (var admin = app.WithKey(StatsApp.AdminKey))
        {
            (await admin.PutAsJsonAsync($"/api/v1/groups/{group}", new GroupRequest("Tỉnh", "Asia/Ho_Chi_Minh", [site], OnlineWindowMinutes: 30)))
                .EnsureSuccessStatusCode();
        }

        var moment = DateTimeOffset.UtcNow;
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            new[] { new BatchViewItem("https://portal.test/", null, null, moment.AddMinutes(-20), "reader", null) })).EnsureSuccessStatusCode();

        var (ofGroup, ofSite) = (await AsOfAsync(group, moment), await app.CountersAsync(site, moment));
        Assert.Equal((1, 0), (ofGroup.Online, ofSite.Online));
        Assert.Equal((1L, 1L), (ofGroup.Total.PageViews, ofSite.Total.PageViews));
    }

    [Fact]
    public async Task sums_include_baselines_and_a_change_of_members_counts_from_its_moment_on()
    {
        var (first, second) = (await app.NewSiteAsync(), await app.NewSiteAsync());
        var group = NewGroupId();
        // The views of the last half minute and the moments read must share one local day (a run at 00:00:10 there read
        // a day of 0 views).
        await Eventually.AwayFromMidnight("Asia/Ho_Chi_Minh", TimeSpan.FromMinutes(2));
        var now = DateTimeOffset.UtcNow;
        using var ingest = app.WithKey(StatsApp.IngestKey);
        foreach (var (site, count) in new[] { (first, 4), (second, 6) })
        {
            (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", Enumerable.Range(0, count)
                .Select(i => new BatchViewItem("https://portal.test/", null, null, now.AddSeconds(-30 - i), $"v{i}", null)))).EnsureSuccessStatusCode();
        }

        using var admin = app.WithKey(StatsApp.AdminKey);
        var total = new BaselineFigures(0, 0, 0, 0, 1000);
        (await admin.PostAsJsonAsync($"/api/v1/sites/{second}/baseline", new BaselineRequest(now.AddDays(-400), total, total))).EnsureSuccessStatusCode();

        (await PutGroupAsync(group, first)).EnsureSuccessStatusCode();
        var beforeChange = DateTimeOffset.UtcNow; // the change below is recorded after this request's answer
        var changed = await (await PutGroupAsync(group, first, second)).Content.ReadFromJsonAsync<GroupResponse>();
        await app.CatchUpAsync();

        var then = await AsOfAsync(group, beforeChange);
        var after = await AsOfAsync(group, DateTimeOffset.UtcNow);
        var live = await LiveAsync(group);

        Assert.Equal(new[] { first }, then.Sites);
        Assert.Equal((4L, 4L), (then.Day.PageViews, then.Total.PageViews));
        Assert.Equal(new[] { first, second }, after.Sites);
        Assert.Equal((10L, 1010L, 1010L, 10L), (after.Day.PageViews, after.Total.PageViews, after.Total.Visits, after.Day.Visitors!.Value));
        Assert.Equal(after with { AsOf = default, Sites = [] }, live with { AsOf = default, Online = after.Online, Sites = [] });
        Assert.Equal(after.Sites, live.Sites);
        Assert.Equal(2, changed!.History.Count);
        Assert.Equal([[first], [first, second]], changed.History.Select(h => h.Sites.ToArray()));
    }

    [Fact]
    public async Task groups_are_admin_only_checked_at_the_door_and_listed_with_their_sites()
    {
        var (member, other) = (await app.NewSiteAsync(), await app.NewSiteAsync(timeZone: "Europe/Berlin"));
        var group = NewGroupId();
        using var admin = app.WithKey(StatsApp.AdminKey);
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        using var anonymous = app.Browser();
        var request = new GroupRequest("Tỉnh", null, [member]);

        Assert.Equal(401, (int)(await anonymous.PutAsJsonAsync($"/api/v1/groups/{group}", request)).StatusCode);
        Assert.Equal(403, (int)(await auditor.PutAsJsonAsync($"/api/v1/groups/{group}", request)).StatusCode);
        foreach (var (id, body) in new (string, GroupRequest)[]
                 {
                     ("Bad Id", request), (group, request with { Sites = ["no-such-site"] }), (group, request with { Sites = [member, other] }),
                     (group, request with { Sites = [] }), (group, request with { TimeZone = "SE Asia Standard Time" }), (group, request with { Name = " " }),
                 })
        {
            var refused = await admin.PutAsJsonAsync($"/api/v1/groups/{Uri.EscapeDataString(id)}", body);
            Assert.Equal(400, (int)refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        }

        Assert.Equal(404, (int)(await admin.GetAsync($"/api/v1/groups/{group}")).StatusCode);
        Assert.Equal(404, (int)(await anonymous.GetAsync($"/api/v1/groups/{group}/counters")).StatusCode);
        (await admin.PutAsJsonAsync($"/api/v1/groups/{group}", request)).EnsureSuccessStatusCode();
        var stored = await admin.GetFromJsonAsync<GroupResponse>($"/api/v1/groups/{group}");
        Assert.Equal(("Tỉnh", "Asia/Ho_Chi_Minh", 5), (stored!.Name, stored.TimeZone, stored.OnlineWindowMinutes));
        Assert.Equal(401, (int)(await anonymous.GetAsync($"/api/v1/groups/{group}")).StatusCode);

        var list = await admin.GetFromJsonAsync<SiteListResponse>("/api/v1/sites");
        Assert.Equal([group], list!.Sites.Single(s => s.SiteId == member).Groups);
        Assert.Empty(list.Sites.Single(s => s.SiteId == other).Groups);

        // A member cannot move to another zone than its group's.
        var moved = await admin.PutAsJsonAsync($"/api/v1/sites/{member}", new SiteRequest("Test portal", "Europe/Berlin", ["portal.test"], null));
        Assert.Equal(400, (int)moved.StatusCode);

        using var fromPortal = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/groups/{group}/counters");
        fromPortal.Headers.Add("Origin", "https://portal.test");
        var counters = await anonymous.SendAsync(fromPortal);
        Assert.Equal(200, (int)counters.StatusCode);
        Assert.Equal("*", counters.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var again = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/groups/{group}/counters");
        again.Headers.IfNoneMatch.Add(counters.Headers.ETag!);
        Assert.Equal(304, (int)(await anonymous.SendAsync(again)).StatusCode);
        Assert.Equal(400, (int)(await anonymous.GetAsync($"/api/v1/groups/{group}/counters?asOf=yesterday")).StatusCode);
        var badge = await anonymous.GetAsync($"/api/v1/groups/{group}/counter.svg?period=day&metric=visitors");
        Assert.Equal("image/svg+xml", badge.Content.Headers.ContentType!.MediaType);
    }

    /// <summary>A group stores nothing of its own: a rebuild of the counters gives it the same figures, a person still one.</summary>
    [Fact]
    public async Task a_rebuild_gives_a_group_the_same_figures()
    {
        var connection = await app.Database.CreateDatabaseAsync("grouprebuild");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        foreach (var site in new[] { "tinh", "huyen" })
        {
            (await admin.PutAsJsonAsync($"/api/v1/sites/{site}", new SiteRequest(site, null, ["portal.test"], null))).EnsureSuccessStatusCode();
        }

        (await admin.PutAsJsonAsync("/api/v1/groups/ca-tinh", new GroupRequest("Cả tỉnh", null, ["tinh", "huyen"]))).EnsureSuccessStatusCode();
        using var reader = StatsApp.ClientOf(host, null);
        foreach (var site in new[] { "tinh", "huyen", "tinh" })
        {
            (await reader.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("https://portal.test/"))).EnsureSuccessStatusCode();
        }

        var moment = DateTimeOffset.UtcNow;
        var url = $"/api/v1/groups/ca-tinh/counters?asOf={Uri.EscapeDataString(moment.ToString("O"))}";
        var before = (await reader.GetFromJsonAsync<GroupCountersResponse>(url))!;
        (await admin.PostAsync("/api/v1/admin/rebuild", null)).EnsureSuccessStatusCode();
        await Eventually.Until(async () => (await admin.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString() == "completed",
            TimeSpan.FromSeconds(60), "the rebuild should complete");
        var after = (await reader.GetFromJsonAsync<GroupCountersResponse>(url))!;

        Assert.Equal((3L, 2L, 1L), (before.Day.PageViews, before.Day.Visits, before.Day.Visitors!.Value));
        Assert.Equal(before with { Sites = [] }, after with { Sites = [] });
    }

    /// <summary>
    /// Generated readers on three members and one outsider: at every moment asked, the group's page views and visits are
    /// its members' sums in every period, and its visitors are the distinct readers, between the largest member's and the sum.
    /// </summary>
    [Theory]
    [InlineData(7)]
    [InlineData(11)]
    public async Task a_groups_figures_follow_from_its_members_for_generated_readers(int seed)
    {
        var members = new[] { await app.NewSiteAsync(), await app.NewSiteAsync(), await app.NewSiteAsync() };
        var outsider = await app.NewSiteAsync();
        var group = NewGroupId();
        (await PutGroupAsync(group, members)).EnsureSuccessStatusCode();
        var random = new Random(seed);
        var readers = Enumerable.Range(0, 6).Select(i => Person(seed * 100 + i)).ToList();
        var seen = new HashSet<int>();
        for (var i = 0; i < 40; i++)
        {
            var reader = random.Next(readers.Count);
            var site = random.Next(5) == 0 ? outsider : members[random.Next(members.Length)];
            seen.Add(site == outsider ? -1 - reader : reader);
            (await readers[reader].PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest($"https://portal.test/{random.Next(4)}"))).EnsureSuccessStatusCode();
        }

        var live = await LiveAsync(group);
        var asOf = await AsOfAsync(group, DateTimeOffset.UtcNow);
        var ofMembers = new List<CountersResponse>();
        foreach (var member in members)
        {
            ofMembers.Add(await app.CountersAsync(member, asOf.AsOf));
        }

        foreach (var figures in new[] { live, asOf })
        {
            foreach (var (ofGroup, select) in new (PeriodFigures, Func<CountersResponse, PeriodFigures>)[]
                     {
                         (figures.Day, c => c.Day), (figures.Week, c => c.Week), (figures.Month, c => c.Month), (figures.Year, c => c.Year), (figures.Total, c => c.Total),
                     })
            {
                Assert.Equal(ofMembers.Sum(c => select(c).PageViews), ofGroup.PageViews);
                Assert.Equal(ofMembers.Sum(c => select(c).Visits), ofGroup.Visits);
            }

            Assert.Equal(seen.Count(r => r >= 0), figures.Day.Visitors);
            Assert.InRange(figures.Day.Visitors!.Value, ofMembers.Max(c => c.Day.Visitors!.Value), ofMembers.Sum(c => c.Day.Visitors!.Value));
            Assert.InRange(figures.Online, ofMembers.Max(c => c.Online), ofMembers.Sum(c => c.Online));
        }

        foreach (var reader in readers)
        {
            reader.Dispose();
        }
    }
}
