using Dynamo.Sidecar.SimulatedWorker.PrefixCache;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.SimulatedWorker.Options;

/// <summary>
/// Rejects <see cref="WorkerOptions"/> that cannot work, with messages naming the configuration key to fix.
/// Hand-written because the data-annotations source generator drops custom error messages on ranges.
/// </summary>
internal sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        List<string> failures = [];
        if (options.TokensPerSecond is not (>= 0 and <= 1_000_000))
        {
            failures.Add("Worker:TokensPerSecond must be between 0 and 1000000 (0 = no delay between tokens).");
        }

        if (options.TimeToFirstTokenMs is not (>= 0 and <= 600_000))
        {
            failures.Add("Worker:TimeToFirstTokenMs must be between 0 and 600000.");
        }

        if (options.DefaultMaxTokens is not (>= 1 and <= 1_000_000))
        {
            failures.Add("Worker:DefaultMaxTokens must be between 1 and 1000000.");
        }

        if (options.PrefixCacheBlockTokens is not (>= 1 and <= PrefixCacheIndex.MaxBlockTokens))
        {
            failures.Add($"Worker:PrefixCacheBlockTokens must be between 1 and {PrefixCacheIndex.MaxBlockTokens}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
