using System.Text;

namespace CCHC.Stats.IntegrationTests;

public sealed class SiteTests(StatsApp app)
{
    private static readonly SiteRequest Valid = new("Cổng TTĐT tỉnh Bắc Giang", "Asia/Ho_Chi_Minh", ["bacgiang.gov.vn", "*.bacgiang.gov.vn"], 5);

    [Fact]
    public async Task a_site_is_created_and_read_back_with_defaults_filled_in()
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var id = $"bg-{Guid.NewGuid():N}"[..12];

        var put = await admin.PutAsJsonAsync($"/api/v1/sites/{id}", new SiteRequest("Bắc Giang", null, ["bacgiang.gov.vn"], null));
        var got = await admin.GetFromJsonAsync<SiteResponse>($"/api/v1/sites/{id}");

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.NotNull(got);
        Assert.Equal("Asia/Ho_Chi_Minh", got.TimeZone);
        Assert.Equal(5, got.OnlineWindowMinutes);
        Assert.Equal(["bacgiang.gov.vn"], got.AllowedHosts);
    }

    /// <summary>Every route that names a site looks it up at the door: 404 problem+json for an unknown one, after the key check.</summary>
    [Theory]
    [InlineData("GET", "/api/v1/sites/{0}", StatsApp.AdminKey)]
    [InlineData("GET", "/api/v1/sites/{0}/counters", null)]
    [InlineData("GET", "/api/v1/sites/{0}/counter.svg", null)]
    [InlineData("POST", "/api/v1/sites/{0}/views", null)]
    [InlineData("POST", "/api/v1/sites/{0}/views:batch", StatsApp.IngestKey)]
    [InlineData("POST", "/api/v1/sites/{0}/baseline", StatsApp.AdminKey)]
    [InlineData("POST", "/api/v1/sites/{0}/baseline/1:withdraw", StatsApp.AdminKey)]
    [InlineData("GET", "/api/v1/sites/{0}/events", StatsApp.AuditorKey)]
    [InlineData("GET", "/api/v1/sites/{0}/verify", StatsApp.AuditorKey)]
    public async Task a_route_of_an_unknown_site_answers_404_after_the_key_check(string method, string route, string? key)
    {
        using var caller = key is null ? app.Browser() : app.WithKey(key);
        using var anonymous = app.Browser();
        foreach (var id in new[] { "no-such-site", "Not A Site!" })
        {
            var path = string.Format(route, Uri.EscapeDataString(id));
            using var request = new HttpRequestMessage(new HttpMethod(method), path)
            {
                Content = method == "POST" ? new StringContent("{}", Encoding.UTF8, "application/json") : null,
            };
            var response = await caller.SendAsync(request);

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            if (key is not null)
            {
                Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path))).StatusCode);
            }
        }
    }

    [Fact]
    public async Task a_site_is_updated_in_place()
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var id = $"up-{Guid.NewGuid():N}"[..12];
        await admin.PutAsJsonAsync($"/api/v1/sites/{id}", Valid);

        var put = await admin.PutAsJsonAsync($"/api/v1/sites/{id}", Valid with { TimeZone = "Europe/Berlin", OnlineWindowMinutes = 15 });
        var site = await put.Content.ReadFromJsonAsync<SiteResponse>();

        Assert.Equal("Europe/Berlin", site!.TimeZone);
        Assert.Equal(15, site.OnlineWindowMinutes);
    }

    [Theory]
    [InlineData("UPPER")]
    [InlineData("has space")]
    [InlineData("dấu")]
    [InlineData("x12345678901234567890123456789012345678901234567890123456789012345")]
    public async Task an_invalid_site_id_is_400(string id)
    {
        using var admin = app.WithKey(StatsApp.AdminKey);

        var response = await admin.PutAsJsonAsync($"/api/v1/sites/{Uri.EscapeDataString(id)}", Valid);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    public static TheoryData<string> InvalidBodies => new()
    {
        """{"name":"x","timeZone":"Mars/Olympus","allowedHosts":["a.vn"]}""",
        """{"name":"x","allowedHosts":["a.vn"],"onlineWindowMinutes":0}""",
        """{"name":"x","allowedHosts":["a.vn"],"onlineWindowMinutes":61}""",
        """{"name":"x","allowedHosts":[]}""",
        """{"name":"x","allowedHosts":["https://a.vn/"]}""",
        """{"allowedHosts":["a.vn"]}""",
        """{"name":"x","allowedHosts":"a.vn"}""",
        """{"name":""",
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task an_invalid_site_is_400_and_not_stored(string body)
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var id = $"bad-{Guid.NewGuid():N}"[..12];

        var response = await admin.PutAsync($"/api/v1/sites/{id}", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/sites/{id}")).StatusCode);
    }

    [Fact]
    public async Task keys_are_checked_401_without_or_with_a_wrong_key_and_403_for_another_role()
    {
        using var anonymous = app.Browser();
        using var wrong = app.WithKey("not-a-key");
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var url = $"/api/v1/sites/{Guid.NewGuid():N}"[..30];

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PutAsJsonAsync(url, Valid)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.PutAsJsonAsync(url, Valid)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PutAsJsonAsync(url, Valid)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await ingest.GetAsync(url)).StatusCode);
        var problem = await anonymous.GetAsync(url);
        Assert.Equal("application/problem+json", problem.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task a_role_without_a_configured_key_is_switched_off()
    {
        var connection = await app.Database.CreateDatabaseAsync("nokeys");
        await using var host = app.Create(connection, new Dictionary<string, string?> { ["Stats:AdminKey"] = "" });
        using var client = host.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", "");

        var response = await client.PutAsJsonAsync("/api/v1/sites/any", Valid);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("SE Asia Standard Time")]
    [InlineData("W. Europe Standard Time")]
    [InlineData("asia/ho_chi_minh")]
    public async Task a_time_zone_that_is_not_an_iana_id_is_400(string zone)
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var id = $"tz-{Guid.NewGuid():N}"[..12];

        var response = await admin.PutAsJsonAsync($"/api/v1/sites/{id}", new SiteRequest("Zone", zone, ["portal.test"], null));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("IANA", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task the_admin_lists_every_site_by_id()
    {
        var first = await app.NewSiteAsync();
        var second = await app.NewSiteAsync(timeZone: "Asia/Bangkok");
        using var admin = app.WithKey(StatsApp.AdminKey);
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        using var anonymous = app.Browser();

        var list = await admin.GetFromJsonAsync<SiteListResponse>("/api/v1/sites");

        var ids = list!.Sites.Select(s => s.SiteId).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        var listed = list.Sites.Single(s => s.SiteId == second);
        Assert.Equal("Asia/Bangkok", listed.TimeZone);
        Assert.Equal("Test portal", listed.Name);
        Assert.Empty(listed.Groups);
        Assert.Contains(first, ids);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.GetAsync("/api/v1/sites")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/sites")).StatusCode);
    }
}
