using System.Text;
using System.Text.Json;
using CCHC.Stats.Api.Retries;
using CsCheck;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// Generated histories of imports, baselines and withdrawals: sent to one site with keys and retried (at once and long
/// after), and to another once each without keys, they give the same figures at every moment.
/// </summary>
public sealed class RetryPropertyTests(StatsApp app)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 8, 0, 0, 0, TimeSpan.FromHours(7));

    private abstract record Op(int Retries);

    private sealed record Import(IReadOnlyList<(int Minute, int Visitor)> Views, int Retries) : Op(Retries);

    private sealed record Baseline(int Day, int Figure, int Retries) : Op(Retries);

    private sealed record Withdraw(int Target, int Retries) : Op(Retries);

    private static readonly Gen<Op> Imports = Gen.Select(Gen.Select(Gen.Int[0, 3 * 24 * 60 - 1], Gen.Int[0, 5]).List[1, 12], Gen.Int[0, 2],
        (views, retries) => (Op)new Import(views, retries));

    private static readonly Gen<Op> Baselines = Gen.Select(Gen.Int[0, 2], Gen.Int[0, 50], Gen.Int[0, 2], (day, figure, retries) => (Op)new Baseline(day, figure, retries));

    private static readonly Gen<Op> Withdrawals = Gen.Select(Gen.Int[0, 9], Gen.Int[0, 2], (target, retries) => (Op)new Withdraw(target, retries));

    private static readonly Gen<List<Op>> Histories = Gen.Frequency((4, Imports), (2, Baselines), (2, Withdrawals)).List[1, 7];

    [Fact]
    public async Task retries_with_keys_give_the_same_counters_as_the_facts_sent_once()
    {
        await Histories.SampleAsync(async history =>
        {
            var keyed = await app.NewSiteAsync();
            var plain = await app.NewSiteAsync();
            var keyedAnswers = new List<HttpStatusCode>();
            var plainAnswers = new List<HttpStatusCode>();
            var sent = new List<(string Path, string Body, string Key, string Client)>();
            for (var i = 0; i < history.Count; i++)
            {
                var op = history[i];
                var key = $"op-{i}";
                var (keyedRequest, plainRequest) = (await RequestAsync(keyed, op), await RequestAsync(plain, op));
                if (keyedRequest is null || plainRequest is null)
                {
                    continue;
                }

                // The first retry goes out while the first attempt is in flight; the others after it.
                var attempts = await Task.WhenAll(Enumerable.Range(0, Math.Min(2, 1 + op.Retries)).Select(_ => SendAsync(keyedRequest.Value, key)));
                for (var r = 2; r <= op.Retries; r++)
                {
                    attempts = [.. attempts, await SendAsync(keyedRequest.Value, key)];
                }

                // The same answer each time: a success word for word; a refusal (not stored, each with its own trace id) by status.
                Assert.Single(attempts.Select(a => (a.Status, (int)a.Status < 300 ? a.Body : "")).Distinct());
                keyedAnswers.Add(attempts[0].Status);
                plainAnswers.Add((await SendAsync(plainRequest.Value, null)).Status);
                sent.Add((keyedRequest.Value.Path, keyedRequest.Value.Body, key, keyedRequest.Value.Client));
            }

            // Retried long after, every keyed request changes nothing.
            foreach (var (path, body, key, client) in sent)
            {
                await SendAsync((path, body, client), key);
            }

            Assert.Equal(plainAnswers, keyedAnswers);
            await app.CatchUpAsync();
            Assert.Equal(Figures(await app.CountersAsync(plain)), Figures(await app.CountersAsync(keyed)));
            foreach (var moment in Enumerable.Range(0, 3).Select(d => Start.AddDays(d).AddHours(23).AddMinutes(59)).Append(DateTimeOffset.UtcNow))
            {
                Assert.Equal(Figures(await app.CountersAsync(plain, moment)), Figures(await app.CountersAsync(keyed, moment)));
            }
        }, iter: 12, threads: 1);
    }

    private static object Figures(CountersResponse c) => (c.Day, c.Week, c.Month, c.Year, c.Total);

    /// <summary>The request an operation makes on a site: its path, body and client; null for a withdrawal with no baseline to withdraw.</summary>
    private async Task<(string Path, string Body, string Client)?> RequestAsync(string site, Op op)
    {
        switch (op)
        {
            case Import import:
                var items = import.Views.Select(v => new { url = $"https://portal.test/p{v.Minute % 4}", occurredAt = Start.AddMinutes(v.Minute), visitorId = $"v{v.Visitor}" });
                return ($"/api/v1/sites/{site}/views:batch", JsonSerializer.Serialize(items), StatsApp.IngestKey);
            case Baseline baseline:
                var n = baseline.Figure;
                var figures = new { day = n, week = 2 * n, month = 3 * n, year = 4 * n, total = 5 * n };
                return ($"/api/v1/sites/{site}/baseline",
                    JsonSerializer.Serialize(new { asOf = Start.AddDays(baseline.Day).AddHours(8), pageViews = figures, visits = figures }), StatsApp.AdminKey);
            case Withdraw withdraw:
                var sequences = await BaselineSequencesAsync(site);
                return sequences.Count == 0
                    ? null
                    : ($"/api/v1/sites/{site}/baseline/{sequences[withdraw.Target % sequences.Count]}:withdraw", "", StatsApp.AdminKey);
            default:
                throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> SendAsync((string Path, string Body, string Client) request, string? key)
    {
        using var client = app.WithKey(request.Client);
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Path);
        if (request.Body.Length > 0)
        {
            message.Content = new StringContent(request.Body, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            message.Headers.Add(Idempotency.Header, key);
        }

        using var response = await client.SendAsync(message);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<List<long>> BaselineSequencesAsync(string site)
    {
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var text = await auditor.GetStringAsync($"/api/v1/sites/{site}/events");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("kind").GetString() == "baseline").Select(r => r.GetProperty("sequence").GetInt64()).ToList();
    }
}
