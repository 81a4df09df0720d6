using System.Security.Cryptography;
using System.Text;
using CCHC.Stats.Api.Hosting;
using Marten;

namespace CCHC.Stats.Api.Retries;

/// <summary>
/// The answer a request with an <c>Idempotency-Key</c> got, stored in the same transaction as the facts it recorded:
/// a retry finds either both or neither, so a crash between the two cannot make a retry record twice.
/// </summary>
public sealed class IdempotencyReceipt
{
    /// <summary><c>{siteId}/{key}</c>: keys are the sender's, one namespace per site.</summary>
    public string Id { get; set; } = "";

    /// <summary>SHA-256 of the request's method, path and body: the same key with another request is a conflict.</summary>
    public string Digest { get; set; } = "";

    public int Status { get; set; }

    /// <summary>The answer's JSON, as it was sent.</summary>
    public string Body { get; set; } = "";

    public DateTimeOffset RecordedAt { get; set; }
}

/// <summary>
/// Retries of the POSTs that add to the history (<c>views:batch</c>, <c>baseline</c>, <c>…:withdraw</c>): a second request
/// with the same key and the same body within <see cref="KeptFor"/> records nothing more and answers what the first
/// answered; the same key with another body is a 409. Without the header every request is recorded.
/// </summary>
public static class Idempotency
{
    public const string Header = "Idempotency-Key";

    public const int MaxKeyLength = 200;

    /// <summary>How long a key is remembered; <see cref="ReceiptSweeper"/> forgets older ones.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromDays(7);

    /// <summary>A request's key: the receipt's id, the request's digest, and the lock that serialises requests with one key.</summary>
    public sealed record RetryKey(string Id, string Digest, long LockKey);

    /// <summary>The key of a request (null without the header), or a 400 when the header is not a valid key.</summary>
    public static (RetryKey? Key, IResult? Problem) Read(HttpRequest request, string siteId, ReadOnlySpan<byte> body)
    {
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return (null, null);
        }

        var key = values.Count == 1 ? values[0] ?? "" : "";
        if (key.Length is 0 or > MaxKeyLength || key.Any(c => c is < ' ' or > '~'))
        {
            return (null, Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid Idempotency-Key.",
                detail: $"'{Header}' is one value of 1–{MaxKeyLength} printable ASCII characters."));
        }

        var id = $"{siteId}/{key}";
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        digest.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}\n"));
        digest.AppendData(body);
        var lockKey = BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(id)).AsSpan(0, 8));
        return (new RetryKey(id, Convert.ToHexStringLower(digest.GetHashAndReset()), lockKey), null);
    }

    /// <summary>
    /// Runs <paramref name="record"/> (which queues its facts on <paramref name="session"/>) and commits, once per key:
    /// with a key, in one transaction that first takes the key's lock and looks for its receipt, so two requests with one
    /// key at the same moment record once (and the second fails no append, which would leave a gap in the event
    /// sequence). A successful <see cref="Answer"/> is stored as the key's receipt; a refusal is not (nothing was
    /// recorded, and the same request is refused again).
    /// </summary>
    /// <param name="onStreamCollision">The answer when the facts' stream already exists (a fact that may be recorded once).</param>
    public static async Task<IResult> RecordOnceAsync(IDocumentSession session, RetryKey? key, DateTimeOffset now,
        Func<Task<IResult>> record, CancellationToken ct, Func<IResult>? onStreamCollision = null)
    {
        try
        {
            if (key is null)
            {
                var unkeyed = await record();
                if (unkeyed is Answer { IsSuccess: true })
                {
                    await session.SaveChangesAsync(ct);
                }

                return unkeyed;
            }

            await session.BeginTransactionAsync(ct);
            await session.QueryAsync<int>("select 1 from pg_advisory_xact_lock(?)", ct, key.LockKey);
            var receipt = await session.LoadAsync<IdempotencyReceipt>(key.Id, ct);
            if (receipt is not null && receipt.RecordedAt + KeptFor > now)
            {
                return receipt.Digest == key.Digest
                    ? Answer.Replay(receipt)
                    : Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Idempotency-Key reused.",
                        detail: $"This '{Header}' was used within the last {KeptFor.TotalDays:0} days for another request; use a new key for a new request.");
            }

            var result = await record();
            if (result is Answer { IsSuccess: true } answer)
            {
                session.Store(new IdempotencyReceipt
                {
                    Id = key.Id, Digest = key.Digest, Status = answer.Status, Body = Encoding.UTF8.GetString(answer.Json), RecordedAt = now,
                });
                await session.SaveChangesAsync(ct);
            }

            return result;
        }
        catch (Exception e) when (onStreamCollision is not null && StoreFaults.IsStreamCollision(e))
        {
            return onStreamCollision();
        }
        catch (Exception e) when (StoreFaults.IsUnavailable(e))
        {
            return Unavailable();
        }
    }

    /// <summary>503 with Retry-After: nothing was recorded; the same request (with the same key) may be sent again.</summary>
    public static IResult Unavailable() => new HeaderResult(
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable.",
            detail: $"The request could not be recorded right now and nothing of it was; send it again later (with the same '{Header}')."),
        "Retry-After", "5");
}

/// <summary>A JSON answer kept as bytes, so that it can be stored as a receipt and sent again as it was.</summary>
public sealed class Answer(int status, byte[] json, bool replayed = false) : IResult
{
    public int Status => status;

    public byte[] Json => json;

    public bool IsSuccess => status is >= 200 and < 300;

    public bool Replayed => replayed;

    public static Answer Of(int status, object body) => new(status, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), JsonBody.Options));

    public static Answer Replay(IdempotencyReceipt receipt) => new(receipt.Status, Encoding.UTF8.GetBytes(receipt.Body), replayed: true);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        if (replayed)
        {
            response.Headers["Idempotent-Replayed"] = "true";
        }

        await response.Body.WriteAsync(json);
    }
}

/// <summary>Forgets keys older than <see cref="Idempotency.KeptFor"/>, once an hour (on every node; deleting twice is harmless).</summary>
public sealed class ReceiptSweeper(IDocumentStore store, TimeProvider clock, ILogger<ReceiptSweeper> logger) : BackgroundService
{
    public async Task SweepAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        var before = now - Idempotency.KeptFor;
        session.DeleteWhere<IdempotencyReceipt>(r => r.RecordedAt < before);
        await session.SaveChangesAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), clock);
        do
        {
            try
            {
                await SweepAsync(clock.GetUtcNow(), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not sweep old idempotency keys; will try again in an hour");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

public static class RetriesModule
{
    public static IServiceCollection AddRetries(this IServiceCollection services)
    {
        services.AddSingleton<ReceiptSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<ReceiptSweeper>());
        return services;
    }
}
