using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Marten;
using JasperFx;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// A secret salt for one local date. Public visitors are hashed with the salt of their site-local day, and
/// the salt is destroyed two days later (<see cref="SaltShredder"/>), after which nobody, this service
/// included, can link a hash to an IP and User-Agent again.
/// </summary>
public sealed class DailySalt
{
    /// <summary>The local date, <c>yyyy-MM-dd</c>.</summary>
    public string Id { get; set; } = "";

    public byte[] Secret { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// The long-lived secret for trusted batch imports, whose visitor ids may belong to days long gone: the same
/// sender id on the same day must always give the same hash, whenever it is imported.
/// </summary>
public sealed class ImportPepper
{
    public const string SingletonId = "import";

    public string Id { get; set; } = SingletonId;

    public byte[] Secret { get; set; } = [];
}

/// <summary>
/// Turns a visitor into a daily pseudonym. Nothing personal goes in or out of this class except as the
/// input to an HMAC: the raw IP and User-Agent are never stored, logged or traced.
/// </summary>
public sealed class VisitorIdentity(IDocumentStore store, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, byte[]> _salts = new();
    private byte[]? _pepper;

    /// <summary>
    /// Public view: HMAC(salt of the local day, IP | User-Agent). The site is not part of it: a person who reads two sites
    /// of this deployment on one day has one pseudonym on both, which is what lets a group count them once (its visitors
    /// and online, <see cref="Groups.GroupCounters"/>). A site's figures are unchanged by it, since a site's visitor-days
    /// are keyed by site and pseudonym. Why this stores nothing personal: README, "Privacy".
    /// </summary>
    public async ValueTask<string> ForPublicViewAsync(DateOnly day, string clientIp, string userAgent, CancellationToken ct)
    {
        var salt = await SaltForAsync(day, ct);
        return Hash(salt, [clientIp, userAgent]);
    }

    /// <summary>
    /// Trusted import: HMAC(import pepper, site | day | sender's visitor id). A sender's ids name visitors of its own site,
    /// so the site stays part of it: two sites' visitor "42" are two people.
    /// </summary>
    public async ValueTask<string> ForImportAsync(string siteId, DateOnly day, string visitorId, CancellationToken ct)
    {
        _pepper ??= await LoadOrCreateAsync(ImportPepper.SingletonId, id => new ImportPepper { Id = id, Secret = RandomNumberGenerator.GetBytes(32) },
            p => p.Secret, ct);
        return Hash(_pepper, [siteId, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), visitorId]);
    }

    /// <summary>Forgets salts this node holds in memory for days that are over (the shredder deletes the stored ones).</summary>
    public void ForgetBefore(DateOnly day)
    {
        foreach (var key in _salts.Keys.Where(k => string.CompareOrdinal(k, day.ToString("yyyy-MM-dd")) < 0))
        {
            _salts.TryRemove(key, out _);
        }
    }

    private async ValueTask<byte[]> SaltForAsync(DateOnly day, CancellationToken ct)
    {
        var id = day.ToString("yyyy-MM-dd");
        if (_salts.TryGetValue(id, out var salt))
        {
            return salt;
        }

        salt = await LoadOrCreateAsync(id, i => new DailySalt { Id = i, Secret = RandomNumberGenerator.GetBytes(32), CreatedAt = clock.GetUtcNow() },
            s => s.Secret, ct);
        return _salts.GetOrAdd(id, salt);
    }

    /// <summary>Reads a secret, or creates it; when two nodes race, the loser reads the winner's.</summary>
    private async Task<byte[]> LoadOrCreateAsync<T>(string id, Func<string, T> create, Func<T, byte[]> secret, CancellationToken ct)
        where T : notnull
    {
        for (var attempt = 0; ; attempt++)
        {
            await using (var query = store.QuerySession())
            {
                var existing = await query.LoadAsync<T>(id, ct);
                if (existing is not null)
                {
                    return secret(existing);
                }
            }

            try
            {
                await using var session = store.LightweightSession();
                var created = create(id);
                session.Insert(created);
                await session.SaveChangesAsync(ct);
                return secret(created);
            }
            catch (DocumentAlreadyExistsException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>
    /// The first 16 bytes of HMAC-SHA256(key, UTF-8 of the parts joined by '\n'), in unpadded base64url (22 characters).
    /// The parts are encoded straight into a pooled buffer, cleared after: no string or array of them is left behind.
    /// </summary>
    internal static string Hash(byte[] key, ReadOnlySpan<string> parts)
    {
        var length = parts.Length - 1;
        foreach (var part in parts)
        {
            length += Encoding.UTF8.GetMaxByteCount(part.Length);
        }

        Span<byte> mac = stackalloc byte[32];
        var utf8 = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = 0;
            for (var i = 0; i < parts.Length; i++)
            {
                if (i > 0)
                {
                    utf8[written++] = (byte)'\n';
                }

                written += Encoding.UTF8.GetBytes(parts[i], utf8.AsSpan(written));
            }

            HMACSHA256.HashData(key, utf8.AsSpan(0, written), mac);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8, clearArray: true); // it held an address and a User-Agent
        }

        return Base64Url.EncodeToString(mac[..16]);
    }
}

/// <summary>Deletes the daily salts two days after their day, once an hour.</summary>
public sealed class SaltShredder(IDocumentStore store, VisitorIdentity identity, TimeProvider clock, ILogger<SaltShredder> logger) : BackgroundService
{
    /// <summary>Salts are kept for today and yesterday in every zone (UTC-12 to UTC+14), then destroyed.</summary>
    public static readonly int KeepDays = 2;

    public async Task ShredAsync(CancellationToken ct)
    {
        var oldestKept = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(-KeepDays);
        await using var session = store.LightweightSession();
        session.DeleteWhere<DailySalt>(s => string.Compare(s.Id, oldestKept.ToString("yyyy-MM-dd")) < 0);
        await session.SaveChangesAsync(ct);
        identity.ForgetBefore(oldestKept);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), clock);
        do
        {
            try
            {
                await ShredAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not shred old salts; will try again in an hour");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
