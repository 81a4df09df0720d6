namespace CCHC.Stats.IntegrationTests;

/// <summary>A setting that cannot work stops the start with a message naming it, instead of failing requests later.</summary>
public sealed class SettingsTests(StatsApp app)
{
    [Theory]
    [InlineData("DurableWriteTimeout", "-00:00:01", "Stats__DurableWriteTimeout must be a positive time span such as 00:00:10, not -00:00:01.")]
    [InlineData("CounterRefreshInterval", "00:00:00", "Stats__CounterRefreshInterval must be a positive time span such as 00:00:00.5, not 00:00:00.")]
    [InlineData("CommitLinger", "-00:00:00.002", "Stats__CommitLinger must be zero or a positive time span such as 00:00:00.002, not -00:00:00.0020000.")]
    [InlineData("MaxViewsPerTransaction", "0", "Stats__MaxViewsPerTransaction must be a whole number from 1 to 10000, not 0.")]
    [InlineData("MaxViewsPerTransaction", "1000000", "Stats__MaxViewsPerTransaction must be a whole number from 1 to 10000, not 1000000.")]
    [InlineData("ViewsPerClientPerMinute", "-5", "Stats__ViewsPerClientPerMinute must be a whole number of at least 0, not -5.")]
    [InlineData("RebuildPageSize", "0", "Stats__RebuildPageSize must be a whole number from 1 to 50000, not 0.")]
    [InlineData("RebuildPageSize", "1000000", "Stats__RebuildPageSize must be a whole number from 1 to 50000, not 1000000.")]
    public async Task a_setting_that_cannot_work_stops_the_start_with_a_message_naming_it(string setting, string value, string message)
    {
        var failure = await StatsApp.FailedStartAsync(app.ConnectionString, new Dictionary<string, string?> { [$"Stats:{setting}"] = value });
        Assert.True(failure.ToString().Contains(message, StringComparison.Ordinal), $"Expected \"{message}\" in:\n{failure}");
    }

    [Fact]
    public async Task every_default_setting_passes()
    {
        // A database of its own: this host starts whole (projection, day sealing), a second node beside the shared one's.
        await using var host = app.Create(await app.Database.CreateDatabaseAsync("settings"), new Dictionary<string, string?>());
        using var client = StatsApp.ClientOf(host, null);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }
}
