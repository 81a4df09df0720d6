using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Tests;

public sealed class IngestionRulesTests
{
    private static readonly Site Portal = new() { Id = "bacgiang", AllowedHosts = ["bacgiang.gov.vn", "*.bacgiang.gov.vn"] };

    /// <summary>
    /// A pseudonym is what joins a visitor's views within a day: if the same person came out as someone else after an
    /// upgrade, the day would count them twice. Pinned to its definition, written the plain way.
    /// </summary>
    [Theory]
    [InlineData("203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0")]
    [InlineData("", "")]
    [InlineData("2001:db8::1", "Mozilla/5.0 (Việt Nam; ứng dụng) Cốc Cốc/130")]
    public void a_pseudonym_is_the_first_half_of_an_hmac_of_the_parts_in_unpadded_base64url(string clientIp, string userAgent)
    {
        var salt = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var mac = System.Security.Cryptography.HMACSHA256.HashData(salt, System.Text.Encoding.UTF8.GetBytes($"{clientIp}\n{userAgent}"));
        var expected = Convert.ToBase64String(mac[..16]).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.Equal(expected, VisitorIdentity.Hash(salt, [clientIp, userAgent]));
    }

    /// <summary>An imported view's pseudonym: site, day and the sender's visitor id, the same way (<see cref="VisitorIdentity.ForImportAsync"/>).</summary>
    [Fact]
    public void an_imported_pseudonym_joins_its_three_parts_the_same_way()
    {
        var pepper = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        var mac = System.Security.Cryptography.HMACSHA256.HashData(pepper, System.Text.Encoding.UTF8.GetBytes("bacgiang\n2026-12-07\nvisitor-42"));
        var expected = Convert.ToBase64String(mac[..16]).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.Equal(expected, VisitorIdentity.Hash(pepper, ["bacgiang", "2026-12-07", "visitor-42"]));
    }

    [Theory]
    [InlineData("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")]
    [InlineData("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")]
    [InlineData("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)")]
    [InlineData("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)")]
    [InlineData("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)")]
    [InlineData("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36")]
    [InlineData("curl/8.5.0")]
    [InlineData("python-requests/2.31.0")]
    [InlineData("Wget/1.21.3")]
    [InlineData("coccocbot-web/1.0 (+http://help.coccoc.com/searchengine)")]
    public void well_known_bots_are_recognised(string userAgent)
    {
        Assert.True(Bots.IsBot(userAgent));
    }

    [Theory]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/128.0.0 Chrome/122.0.0.0 Safari/537.36")]
    public void browsers_are_not_bots(string userAgent)
    {
        Assert.False(Bots.IsBot(userAgent));
    }

    [Fact]
    public void a_match_that_runs_out_of_time_counts_the_view()
    {
        // A pattern that backtracks catastrophically on this input, with a timeout it cannot meet: what a starved
        // machine does to the real pattern. The view must be counted, not taken for a bot's.
        var slow = new System.Text.RegularExpressions.Regex("^(a+)+$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(1));

        Assert.False(Bots.Classify(slow, new string('a', 40) + "!"));
    }

    [Theory]
    [InlineData("https://bacgiang.gov.vn/tin-tuc", true)]
    [InlineData("https://BacGiang.gov.vn/", true)]
    [InlineData("http://sotttt.bacgiang.gov.vn/a?b=c", true)]
    [InlineData("https://bacgiang.gov.vn:8443/", true)]
    [InlineData("https://evilbacgiang.gov.vn/", false)]
    [InlineData("https://bacgiang.gov.vn.evil.example/", false)]
    [InlineData("https://example.com/?u=bacgiang.gov.vn", false)]
    public void the_url_host_must_be_allowed(string url, bool allowed)
    {
        var (refusal, _) = ViewRules.Check(Portal, url, null, null);

        Assert.Equal(allowed ? ViewRules.Refusal.None : ViewRules.Refusal.HostNotAllowed, refusal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("bacgiang.gov.vn/tin-tuc")]
    [InlineData("javascript:alert(1)")]
    [InlineData("ftp://bacgiang.gov.vn/")]
    public void a_missing_or_non_http_url_is_invalid(string? url)
    {
        Assert.Equal(ViewRules.Refusal.Invalid, ViewRules.Check(Portal, url, null, null).Refusal);
    }

    [Fact]
    public void a_referrer_must_be_an_http_url_when_given()
    {
        Assert.Equal(ViewRules.Refusal.Invalid, ViewRules.Check(Portal, "https://bacgiang.gov.vn/", "not a url", null).Refusal);
        Assert.Equal(ViewRules.Refusal.None, ViewRules.Check(Portal, "https://bacgiang.gov.vn/", "https://www.google.com/", null).Refusal);
    }
}
