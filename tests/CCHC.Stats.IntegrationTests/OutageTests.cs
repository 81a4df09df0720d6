using CCHC.Stats.Api.Hosting;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// PostgreSQL goes away and comes back: views get 503 with Retry-After (never a 202 that could be lost),
/// counters keep being served from memory, readiness fails, and everything recovers without a restart.
/// </summary>
public sealed class OutageTests
{
    [Fact]
    public async Task the_service_refuses_views_serves_counters_and_recovers_when_the_database_returns()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"cchc-outage-{Guid.NewGuid():N}");
        var database = await LocalPostgres.StartAsync(folder);
        try
        {
            await using var service = await ServiceProcess.StartAsync(database.ConnectionString);
            await service.AddSiteAsync("outage", "portal.test");
            using var client = service.Client(timeout: TimeSpan.FromSeconds(40));

            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, (await PostViewAsync(client, i)).StatusCode);
            }

            await Eventually.Until(async () => (await client.GetFromJsonAsync<CountersResponse>("/api/v1/sites/outage/counters"))!.Day.PageViews == 3);

            await database.StopAsync();

            var refused = await PostViewAsync(client, 3);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var served = await client.GetFromJsonAsync<CountersResponse>("/api/v1/sites/outage/counters");
            Assert.Equal(3, served!.Day.PageViews);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

            // What Kubernetes routes by: the pod still serves (counters from memory, views 503), so it stays in the Service.
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/serving")).StatusCode);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(3, (await client.GetFromJsonAsync<CountersResponse>("/api/v1/sites/outage/counters"))!.Day.PageViews);
            }

            database = await LocalPostgres.StartAsync(folder, database.Port);

            await Eventually.Until(async () => (await PostViewAsync(client, 4)).StatusCode == HttpStatusCode.Accepted);
            await Eventually.Until(async () => (await client.GetFromJsonAsync<CountersResponse>("/api/v1/sites/outage/counters"))!.Day.PageViews >= 4);
            await Eventually.Until(async () => (await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK);
            var urls = await EventRows.UrlsOfSiteAsync(database.ConnectionString, "outage");
            Assert.DoesNotContain("https://portal.test/3", urls);
            Assert.Equal((await client.GetFromJsonAsync<CountersResponse>("/api/v1/sites/outage/counters"))!.Day.PageViews, urls.Count);
        }
        finally
        {
            await database.StopAsync();
            Directory.Delete(folder, recursive: true); // a whole PostgreSQL data folder: ~47 MB per run otherwise
        }
    }

    private static Task<HttpResponseMessage> PostViewAsync(HttpClient client, int n) =>
        client.PostAsJsonAsync("/api/v1/sites/outage/views", new PageViewRequest($"https://portal.test/{n}"));

}
