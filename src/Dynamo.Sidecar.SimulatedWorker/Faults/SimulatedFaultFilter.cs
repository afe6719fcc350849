namespace Dynamo.Sidecar.SimulatedWorker.Faults;

/// <summary>
/// Answers a request that asks for <c>x-sim-fault: status=S</c> with that status before any work is done; the
/// <see cref="Api.OpenAiErrorFilter"/> around it writes the error body. Cuts and stalls happen in the engine.
/// </summary>
internal sealed class SimulatedFaultFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var fault = SimulatedFault.Resolve(context.HttpContext.Request.Headers);
        return fault.Kind == FaultKind.Status
            ? throw new BadHttpRequestException($"Simulated fault: status {fault.Value}.", fault.Value)
            : next(context);
    }
}
